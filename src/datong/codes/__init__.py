"""National code standards: citizen ID (GB 11643), credit code (GB 32100), divisions (GB/T 2260),
sex codes (GB/T 2261.1). Scalar checks here; vectorised forms in :mod:`datong.codes.vectorised`."""

from datong.codes.credit_code import validate_credit_code
from datong.codes.divisions import lookup_division
from datong.codes.id_number import upgrade_id_number, validate_id_number

__all__ = ["lookup_division", "upgrade_id_number", "validate_credit_code", "validate_id_number"]
