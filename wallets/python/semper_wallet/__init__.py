"""semper_wallet: a semper wallet and merchant written from docs/protocol.md alone.

Python 3.11+ and `cryptography`; no other dependency. See README.md.
"""

from .checks import CheckError
from .merchant import Deposit, Merchant
from .node import ApiError, Node
from .wallet import Coin, Wallet

__all__ = ["ApiError", "CheckError", "Coin", "Deposit", "Merchant", "Node", "Wallet"]
