"""IBM System/360 hexadecimal floats <-> IEEE floats, vectorized and exact.

An IBM float is sign(1) | exponent(7, base 16, bias 64) | fraction(24). Every IBM value inside
float32's range is exactly a float32, so decoding then encoding gives the original bits back.
"""

import numpy as np

_SIGN = np.uint32(0x80000000)

# Scale for each sign+exponent byte: +-16**(exp - 64) / 2**24, so value = fraction * scale.
_POWERS = np.ldexp(1.0, 4 * np.arange(128) - 280)
_SCALE = np.concatenate([_POWERS, -_POWERS])
_PIECE = 1 << 16  # elements per piece: temporaries stay small, cached and reused


def ibm_to_ieee(words: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Decode IBM words (``uint32`` in either byte order, any layout) to ``float32``, into ``out``
    when given: a table lookup and one multiply, a few rows at a time."""
    words = np.asarray(words)
    rows = words.reshape(-1, words.shape[-1] if words.ndim else 1)  # (R, S), a view when possible
    values = np.empty(words.shape, np.float32) if out is None else out
    flat_out = values.reshape(rows.shape)
    step = max(1, _PIECE // rows.shape[1])
    with np.errstate(over="ignore"):  # IBM's range exceeds float32's: those become inf
        for start in range(0, rows.shape[0], step):
            piece = rows[start : start + step].astype(np.uint32)  # native order
            fraction = (piece & np.uint32(0x00FFFFFF)).astype(np.float64)  # exact: 24 bits
            np.multiply(
                fraction, _SCALE[piece >> np.uint32(24)], out=flat_out[start : start + step], casting="same_kind"
            )
    return values


def ieee_to_ibm(values: np.ndarray) -> np.ndarray:
    """Encode floats to native-order ``uint32`` IBM words (round half up), piece by piece."""
    values = np.asarray(values)
    flat = values.reshape(-1)
    words = np.empty(flat.shape, np.uint32)
    for start in range(0, flat.size, _PIECE):
        words[start : start + _PIECE] = _ieee_to_ibm_piece(flat[start : start + _PIECE])
    return words.reshape(values.shape)


def _ieee_to_ibm_piece(values: np.ndarray) -> np.ndarray:
    """IBM words of a 1-D piece.

    Works on float32 bits with unsigned integer operations only: the 24-bit significand is
    shifted right by 0-3 bits so that the binary exponent becomes a multiple of four. Zeros,
    subnormals, infinities and NaN take the slower general path.
    """
    bits = values.astype(np.float32, copy=False).view(np.uint32)
    u = np.uint32
    biased = (bits >> u(23)) & u(0xFF)  # value = significand / 2**24 * 2**(biased - 126)
    # With t = biased + 130 = power + 256 (>= 0, same remainder mod 4 as the power):
    # IBM exponent = ceil(power / 4) + 64 = (t + 3) >> 2, and the right shift is (-t) mod 4.
    t = biased + u(130)
    shift = (u(0) - t) & u(3)
    significand = (bits & u(0x7FFFFF)) | u(0x800000)
    fraction = (significand + ((u(1) << shift) >> u(1))) >> shift
    carry = fraction >> u(24)  # rounding reached 2**24: one more hex digit
    fraction >>= carry << u(2)
    words = (bits & _SIGN) | (((t + u(3)) >> u(2)) + carry) << u(24) | fraction
    special = (biased == 0) | (biased == 255)
    if special.any():
        words[special] = _ieee_to_ibm_exact(values[special])
    return words


def _ieee_to_ibm_exact(values: np.ndarray) -> np.ndarray:
    """The general path: zeros, subnormals, infinities (clipped to IBM's range) and NaN (as 0)."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=7.2e75, neginf=-7.2e75)
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
