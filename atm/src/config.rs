//! The circuit's configuration, as the server's TOML embeds it under `carrier = "atm"`, and
//! its validation.

use serde::Deserialize;
use thiserror::Error;

use crate::header::HeaderFormat;
use crate::line::LineRate;

/// VCIs 0–31 are reserved (idle, signalling, OAM, ...): the first a user channel may take.
pub const VCI_USER_MIN: u16 = 32;
/// The longest propagation delay the emulator takes.
pub const DELAY_MAX_MS: u64 = 1_000;
/// The widest cell delay variation the emulator takes.
pub const CDV_MAX_US: u64 = 100_000;
/// The widest CDVT a contract may have.
pub const CDVT_MAX_US: u64 = 1_000_000;
/// The largest maximum burst size a VBR contract may have.
pub const MBS_MAX_CELLS: u64 = 1_000_000;

/// One permanent virtual circuit: its line, channel, header format, traffic contract,
/// impairments and seed. Every field has a default (see each field).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CircuitConfig {
    /// The line: `"oc3c"` (default) or `"oc12c"`.
    pub line: LineRate,
    /// The virtual path; default 0.
    pub vpi: u16,
    /// The virtual channel; default 32, the first non-reserved VCI.
    pub vci: u16,
    /// `"uni"` (default) or `"nni"`.
    pub header_format: HeaderFormat,
    /// The traffic contract; default CBR at the line's cell rate, shaped.
    pub contract: ContractConfig,
    /// The impairments; default none.
    pub impairments: ImpairmentConfig,
    /// Seeds the impairments, so runs are reproducible; default 0.
    pub seed: u64,
}

impl Default for CircuitConfig {
    fn default() -> Self {
        Self {
            line: LineRate::Oc3c,
            vpi: 0,
            vci: VCI_USER_MIN,
            header_format: HeaderFormat::Uni,
            contract: ContractConfig::default(),
            impairments: ImpairmentConfig::default(),
            seed: 0,
        }
    }
}

/// The service category of a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContractKind {
    /// Constant bit rate: PCR and CDVT.
    #[default]
    Cbr,
    /// Variable bit rate: PCR, SCR, MBS and CDVT.
    Vbr,
}

/// What happens to cells that break the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    /// Non-conforming cells are dropped at the network's edge (usage parameter control).
    Police,
    /// Cells are held back until they conform.
    #[default]
    Shape,
}

/// A traffic contract.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContractConfig {
    /// `"cbr"` (default) or `"vbr"`.
    pub kind: ContractKind,
    /// Peak cell rate; default (absent) the line's cell rate.
    pub pcr_cells_per_s: Option<u64>,
    /// Cell delay variation tolerance around the PCR; default 0.
    pub cdvt_us: u64,
    /// Sustainable cell rate; VBR only, where it is required.
    pub scr_cells_per_s: Option<u64>,
    /// Maximum burst size at the PCR; VBR only, where it is required.
    pub mbs_cells: Option<u64>,
    /// `"police"` or `"shape"` (default).
    pub enforcement: Enforcement,
}

impl Default for ContractConfig {
    fn default() -> Self {
        Self {
            kind: ContractKind::Cbr,
            pcr_cells_per_s: None,
            cdvt_us: 0,
            scr_cells_per_s: None,
            mbs_cells: None,
            enforcement: Enforcement::Shape,
        }
    }
}

/// Line impairments; all default to none.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImpairmentConfig {
    /// One-way propagation delay, at most [`DELAY_MAX_MS`].
    pub delay_ms: u64,
    /// Cell delay variation: each cell gets up to this much extra delay (order is kept).
    pub cdv_us: u64,
    /// The fraction of cells lost, in [0, 1].
    pub cell_loss_ratio: f64,
    /// The probability of each header bit being flipped, in [0, 1].
    pub header_bit_error_rate: f64,
}

/// A field of a [`CircuitConfig`] that is out of range; names the field.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConfigError {
    /// The VPI does not fit the header format.
    #[error("vpi {vpi} exceeds {max}, the largest a {format:?} header carries")]
    VpiTooLarge {
        /// The VPI given.
        vpi: u16,
        /// The format's largest.
        max: u16,
        /// The header format.
        format: HeaderFormat,
    },
    /// The VCI is one of the reserved 0–31.
    #[error("vci {0} is reserved; user channels start at {VCI_USER_MIN}")]
    VciReserved(u16),
    /// A cell rate of zero.
    #[error("{0} must be above zero")]
    ZeroRate(&'static str),
    /// The PCR is above what the line carries.
    #[error("contract.pcr_cells_per_s {pcr} exceeds the line's {line_cells_per_s} cells/s")]
    PcrAboveLine {
        /// The PCR given.
        pcr: u64,
        /// The line's cell rate.
        line_cells_per_s: u64,
    },
    /// The SCR is above the PCR.
    #[error("contract.scr_cells_per_s {scr} exceeds the PCR {pcr}")]
    ScrAbovePcr {
        /// The SCR given.
        scr: u64,
        /// The PCR in force.
        pcr: u64,
    },
    /// A VBR contract lacks a field it needs.
    #[error("{0} is required for a VBR contract")]
    MissingForVbr(&'static str),
    /// A CBR contract has a VBR-only field.
    #[error("{0} applies only to a VBR contract")]
    NotForCbr(&'static str),
    /// A probability outside [0, 1] (or not a number).
    #[error("{field} = {value} is outside [0, 1]")]
    RatioOutOfRange {
        /// The field.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// A value above its bound.
    #[error("{field} = {value} exceeds its bound {max}")]
    TooLarge {
        /// The field.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The bound.
        max: u64,
    },
}

impl ConfigError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        "atm.config"
    }

    /// The config field at fault, as written in TOML.
    pub fn field(&self) -> &'static str {
        match self {
            Self::VpiTooLarge { .. } => "vpi",
            Self::VciReserved(_) => "vci",
            Self::PcrAboveLine { .. } => "contract.pcr_cells_per_s",
            Self::ScrAbovePcr { .. } => "contract.scr_cells_per_s",
            Self::ZeroRate(field)
            | Self::MissingForVbr(field)
            | Self::NotForCbr(field)
            | Self::RatioOutOfRange { field, .. }
            | Self::TooLarge { field, .. } => field,
        }
    }
}

impl CircuitConfig {
    /// The PCR in force: the configured one, or the line's cell rate.
    pub fn pcr_cells_per_s(&self) -> u64 {
        self.contract
            .pcr_cells_per_s
            .unwrap_or_else(|| self.line.cells_per_s())
    }

    /// Checks every field against its range; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let vpi_max = self.header_format.vpi_max();
        if self.vpi > vpi_max {
            return Err(ConfigError::VpiTooLarge {
                vpi: self.vpi,
                max: vpi_max,
                format: self.header_format,
            });
        }
        if self.vci < VCI_USER_MIN {
            return Err(ConfigError::VciReserved(self.vci));
        }
        self.contract.validate(self.line)?;
        self.impairments.validate()
    }
}

fn at_most(field: &'static str, value: u64, max: u64) -> Result<(), ConfigError> {
    if value > max {
        return Err(ConfigError::TooLarge { field, value, max });
    }
    Ok(())
}

impl ContractConfig {
    fn validate(&self, line: LineRate) -> Result<(), ConfigError> {
        let line_cells_per_s = line.cells_per_s();
        let pcr = self.pcr_cells_per_s.unwrap_or(line_cells_per_s);
        if pcr == 0 {
            return Err(ConfigError::ZeroRate("contract.pcr_cells_per_s"));
        }
        if pcr > line_cells_per_s {
            return Err(ConfigError::PcrAboveLine {
                pcr,
                line_cells_per_s,
            });
        }
        at_most("contract.cdvt_us", self.cdvt_us, CDVT_MAX_US)?;
        match self.kind {
            ContractKind::Cbr => {
                if self.scr_cells_per_s.is_some() {
                    return Err(ConfigError::NotForCbr("contract.scr_cells_per_s"));
                }
                if self.mbs_cells.is_some() {
                    return Err(ConfigError::NotForCbr("contract.mbs_cells"));
                }
            }
            ContractKind::Vbr => {
                let scr = self
                    .scr_cells_per_s
                    .ok_or(ConfigError::MissingForVbr("contract.scr_cells_per_s"))?;
                let mbs = self
                    .mbs_cells
                    .ok_or(ConfigError::MissingForVbr("contract.mbs_cells"))?;
                if scr == 0 {
                    return Err(ConfigError::ZeroRate("contract.scr_cells_per_s"));
                }
                if scr > pcr {
                    return Err(ConfigError::ScrAbovePcr { scr, pcr });
                }
                if mbs == 0 {
                    return Err(ConfigError::ZeroRate("contract.mbs_cells"));
                }
                at_most("contract.mbs_cells", mbs, MBS_MAX_CELLS)?;
            }
        }
        Ok(())
    }
}

fn ratio(field: &'static str, value: f64) -> Result<(), ConfigError> {
    if !(0.0..=1.0).contains(&value) {
        return Err(ConfigError::RatioOutOfRange { field, value });
    }
    Ok(())
}

impl ImpairmentConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        at_most("impairments.delay_ms", self.delay_ms, DELAY_MAX_MS)?;
        at_most("impairments.cdv_us", self.cdv_us, CDV_MAX_US)?;
        ratio("impairments.cell_loss_ratio", self.cell_loss_ratio)?;
        ratio(
            "impairments.header_bit_error_rate",
            self.header_bit_error_rate,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CircuitConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn defaults_are_a_clean_shaped_cbr_oc3c_circuit() {
        let config = parse("").unwrap();
        assert_eq!(config, CircuitConfig::default());
        assert_eq!(config.pcr_cells_per_s(), 353_207);
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn a_full_config_parses() {
        let config = parse(
            r#"
            line = "oc12c"
            vpi = 1000
            vci = 100
            header_format = "nni"
            seed = 9
            [contract]
            kind = "vbr"
            pcr_cells_per_s = 100000
            scr_cells_per_s = 20000
            mbs_cells = 50
            cdvt_us = 30
            enforcement = "police"
            [impairments]
            delay_ms = 5
            cdv_us = 200
            cell_loss_ratio = 1e-4
            header_bit_error_rate = 1e-6
            "#,
        )
        .unwrap();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.line, LineRate::Oc12c);
        assert_eq!(config.contract.enforcement, Enforcement::Police);
        assert_eq!(config.impairments.cdv_us, 200);
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(parse("speed = 3").is_err());
        assert!(parse("[contract]\nburst = 3").is_err());
        assert!(parse("[impairments]\njitter_ms = 3").is_err());
        assert!(parse("line = \"oc48c\"").is_err());
    }

    #[test]
    fn bad_fields_are_named() {
        let bad = |edit: &dyn Fn(&mut CircuitConfig)| {
            let mut config = CircuitConfig::default();
            edit(&mut config);
            config.validate().map_err(|e| e.field())
        };
        assert_eq!(bad(&|c| c.vpi = 256), Err("vpi"));
        assert_eq!(
            bad(&|c| {
                c.vpi = 256;
                c.header_format = HeaderFormat::Nni;
            }),
            Ok(())
        );
        assert_eq!(bad(&|c| c.vci = 5), Err("vci"));
        assert_eq!(
            bad(&|c| c.contract.pcr_cells_per_s = Some(400_000)),
            Err("contract.pcr_cells_per_s")
        );
        assert_eq!(
            bad(&|c| c.contract.pcr_cells_per_s = Some(0)),
            Err("contract.pcr_cells_per_s")
        );
        let vbr = |c: &mut CircuitConfig| {
            c.contract.kind = ContractKind::Vbr;
            c.contract.pcr_cells_per_s = Some(10_000);
            c.contract.scr_cells_per_s = Some(20_000);
            c.contract.mbs_cells = Some(10);
        };
        assert_eq!(bad(&vbr), Err("contract.scr_cells_per_s"));
        assert_eq!(
            bad(&|c| {
                vbr(c);
                c.contract.mbs_cells = None;
            }),
            Err("contract.mbs_cells")
        );
        assert_eq!(
            bad(&|c| c.contract.mbs_cells = Some(3)),
            Err("contract.mbs_cells")
        );
        assert_eq!(
            bad(&|c| c.impairments.cell_loss_ratio = 1.5),
            Err("impairments.cell_loss_ratio")
        );
        assert_eq!(
            bad(&|c| c.impairments.header_bit_error_rate = f64::NAN),
            Err("impairments.header_bit_error_rate")
        );
        assert_eq!(
            bad(&|c| c.impairments.delay_ms = 5_000),
            Err("impairments.delay_ms")
        );
    }
}
