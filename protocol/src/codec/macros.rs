//! Derives the canonical codec of a plain struct: its fields, in declaration order.

/// Implements [`Encode`](crate::codec::Encode) and [`Decode`](crate::codec::Decode) for a struct
/// whose fields all have codecs. With `message "tag" v N`, it also implements
/// [`Message`](crate::codec::Message) and starts the encoding with the domain tag and version.
#[macro_export]
macro_rules! codec_struct {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl $crate::codec::Encode for $ty {
            fn encode_to(&self, writer: &mut $crate::codec::Writer) {
                $( $crate::codec::Encode::encode_to(&self.$field, writer); )*
            }
        }

        impl $crate::codec::Decode for $ty {
            fn decode_from(
                reader: &mut $crate::codec::Reader<'_>,
            ) -> Result<Self, $crate::codec::DecodeError> {
                Ok(Self { $( $field: $crate::codec::Decode::decode_from(reader)?, )* })
            }
        }
    };
    (message $domain:literal v $version:literal, $ty:ident { $($field:ident),* $(,)? }) => {
        impl $crate::codec::Message for $ty {
            const DOMAIN: &'static str = $domain;
            const VERSION: u8 = $version;
        }

        impl $crate::codec::Encode for $ty {
            fn encode_to(&self, writer: &mut $crate::codec::Writer) {
                writer.domain::<Self>();
                $( $crate::codec::Encode::encode_to(&self.$field, writer); )*
            }
        }

        impl $crate::codec::Decode for $ty {
            fn decode_from(
                reader: &mut $crate::codec::Reader<'_>,
            ) -> Result<Self, $crate::codec::DecodeError> {
                reader.domain::<Self>()?;
                Ok(Self { $( $field: $crate::codec::Decode::decode_from(reader)?, )* })
            }
        }
    };
}
