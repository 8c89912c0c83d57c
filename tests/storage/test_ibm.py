import numpy as np
import pytest

from seiscli.storage.ibm import ibm_to_ieee, ieee_to_ibm

# Hand-worked IBM encodings: sign | base-16 exponent (bias 64) | 24-bit fraction.
KNOWN = [
    (0x00000000, 0.0),
    (0x41100000, 1.0),  # 0x1/16 * 16**1
    (0xC1100000, -1.0),
    (0xC276A000, -118.625),  # the classic example from IBM's documentation
    (0x40800000, 0.5),
    (0x42640000, 100.0),  # 0x64/256 * 16**2
    (0x3F100000, 1.0 / 256),
]


@pytest.mark.parametrize(("word", "value"), KNOWN)
def test_known_values_decode_and_encode(word, value):
    assert ibm_to_ieee(np.array([word], np.uint32))[0] == np.float32(value)
    assert ieee_to_ibm(np.array([value]))[0] == word


def test_every_normalized_word_in_float32_range_round_trips():
    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32)
    exponent = (words >> 24) & 0x7F
    normalized = ((words >> 20) & 0xF) != 0  # leading hex digit non-zero
    in_range = (exponent >= 64 - 20) & (exponent <= 64 + 31)
    words = words[normalized & in_range]
    assert len(words) > 50_000
    np.testing.assert_array_equal(ieee_to_ibm(ibm_to_ieee(words)), words)


def test_encoding_rounds_to_nearest_and_renormalizes():
    # 1 - 2**-30 is not representable: it rounds up to 1.0, carrying into the exponent.
    assert ieee_to_ibm(np.array([1.0 - 2.0**-30]))[0] == 0x41100000
    decoded = ibm_to_ieee(ieee_to_ibm(np.array([np.pi], np.float32)))[0]
    assert abs(decoded - np.pi) < 1e-6
