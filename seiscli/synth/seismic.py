"""From an impedance model to post-stack seismic: reflectivity, wavelet, convolution, coloured noise.

Pure numpy signal processing on arrays whose last axis is time; knows nothing about geology.
"""

import numpy as np


def ricker(peak_hz: float, dt_ms: float, n_samples: int) -> np.ndarray:
    """Zero-phase Ricker wavelet, centred on sample ``n_samples // 2``, unit peak."""
    t = (np.arange(n_samples) - n_samples // 2) * (dt_ms / 1000.0)  # (L,) seconds
    arg = (np.pi * peak_hz * t) ** 2
    return ((1.0 - 2.0 * arg) * np.exp(-arg)).astype(np.float32)


def wavelet_length(peak_hz: float, dt_ms: float) -> int:
    """Odd length covering the Ricker to ~1e-6 of its peak: 2.4 periods either side."""
    half = int(np.ceil(2.4 / peak_hz / (dt_ms / 1000.0)))
    return 2 * half + 1


def reflectivity(impedance: np.ndarray) -> np.ndarray:
    """Normal-incidence reflection coefficients; r[t] belongs to the interface between t-1 and t, r[0] = 0."""
    z = impedance.astype(np.float32)
    r = np.zeros_like(z)
    r[..., 1:] = (z[..., 1:] - z[..., :-1]) / (z[..., 1:] + z[..., :-1])
    return r


def _wavelet_spectrum(wavelet: np.ndarray, n_fft: int) -> np.ndarray:
    """rfft of the wavelet with its centre moved to lag 0, so convolving does not shift events."""
    padded = np.zeros(n_fft, np.float32)
    centre = len(wavelet) // 2
    padded[: len(wavelet) - centre] = wavelet[centre:]
    padded[n_fft - centre :] = wavelet[:centre]
    return np.fft.rfft(padded)  # (F,)


def convolve_time(traces: np.ndarray, wavelet: np.ndarray) -> np.ndarray:
    """Convolve every trace with a centred wavelet (FFT, zero-padded: no wrap-around), same length out."""
    n_t = traces.shape[-1]
    n_fft = _fft_size(n_t + len(wavelet))
    spectrum = np.fft.rfft(traces, n=n_fft, axis=-1)  # (..., F)
    spectrum *= _wavelet_spectrum(wavelet, n_fft)
    return np.fft.irfft(spectrum, n=n_fft, axis=-1)[..., :n_t].astype(np.float32)


def _fft_size(n: int) -> int:
    """Smallest length >= n with no prime factor above 5: pocketfft is slow on large primes."""
    while True:
        rest = n
        for p in (2, 3, 5):
            while rest % p == 0:
                rest //= p
        if rest == 1:
            return n
        n += 1


def coloured_noise(
    shape: tuple[int, ...], wavelet: np.ndarray, correlation_traces: float, rng: np.random.Generator
) -> np.ndarray:
    """Unit-RMS noise with the wavelet's band in time and a Gaussian lateral correlation, like residual
    multiples and migration noise: white noise would be removed by any bandpass and looks unreal."""
    n_fft = _fft_size(shape[-1] + len(wavelet))  # padded in time so the band filter does not wrap
    white = rng.standard_normal((*shape[:-1], n_fft), dtype=np.float32)
    spectrum = np.fft.rfftn(white)  # (..., F)
    spectrum *= np.abs(_wavelet_spectrum(wavelet, n_fft))
    for axis, n in enumerate(shape[:-1]):
        k = np.fft.fftfreq(n)  # cycles per trace
        taper = np.exp(-0.5 * (2 * np.pi * k * correlation_traces) ** 2).astype(np.float32)
        spectrum *= taper.reshape([-1 if a == axis else 1 for a in range(len(shape))])
    noise = np.fft.irfftn(spectrum, s=white.shape, axes=range(len(shape)))[..., : shape[-1]].astype(np.float32)
    return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-12)


def unit_rms(data: np.ndarray) -> np.ndarray:
    """Scale to unit RMS, the amplitude range trained networks expect after standard normalisation."""
    rms = float(np.sqrt(np.mean(data.astype(np.float64) ** 2)))
    return (data / max(rms, 1e-12)).astype(np.float32)
