"""IBM System/360 hexadecimal floats <-> IEEE floats, vectorized and exact.

An IBM float is sign(1) | exponent(7, base 16, bias 64) | fraction(24). Every IBM value inside
float32's range is exactly a float32, so decoding then encoding gives the original bits back.
"""

import numpy as np

_SIGN = np.uint32(0x80000000)

# Scale for each sign+exponent byte: +-16**(exp - 64) / 2**24, so value = fraction * scale.
_POWERS = np.ldexp(1.0, 4 * np.arange(128) - 280)
_SCALE = np.concatenate([_POWERS, -_POWERS])


def ibm_to_ieee(words: np.ndarray) -> np.ndarray:
    """Decode native-order ``uint32`` IBM words to ``float32`` (a table lookup and one multiply)."""
    words = np.asarray(words, dtype=np.uint32)
    fraction = (words & np.uint32(0x00FFFFFF)).astype(np.float64)  # exact: 24 bits
    with np.errstate(over="ignore"):  # IBM's range exceeds float32's: those become inf
        return (fraction * _SCALE[words >> np.uint32(24)]).astype(np.float32)


def ieee_to_ibm(values: np.ndarray) -> np.ndarray:
    """Encode floats to native-order ``uint32`` IBM words (round to nearest)."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), posinf=7.2e75, neginf=-7.2e75)
    sign = np.where(np.signbit(values), _SIGN, np.uint32(0))
    mantissa, power = np.frexp(np.abs(values))  # |v| = m * 2**p, m in [0.5, 1)
    hex_exp = -((-power) // 4)  # ceil(p / 4): |v| < 16**hex_exp
    fraction = np.rint(np.ldexp(mantissa, 24 - (4 * hex_exp - power)))
    carry = fraction >= 2**24  # rounding overflowed the 24-bit fraction: renormalize
    fraction = np.where(carry, fraction / 16, fraction)
    hex_exp = hex_exp + carry
    biased = np.clip(hex_exp + 64, 0, 127).astype(np.uint32)
    words = sign | (biased << np.uint32(24)) | fraction.astype(np.uint32)
    return np.where(values == 0, sign, words).astype(np.uint32)
