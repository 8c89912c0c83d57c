"""Options of the training augmentations (``seis finetune``'s ``augment`` table)."""

from pydantic import Field, NonNegativeInt, model_validator

from seiscli.config.base import StrictModel


class AugmentConfig(StrictModel):
    """How often and how strongly each augmentation is applied."""

    flip: float = Field(0.5, ge=0.0, le=1.0)  # mirror, drawn per lateral axis
    shift: float = Field(0.5, ge=0.0, le=1.0)  # shift, drawn per lateral axis
    max_shift: NonNegativeInt = 4  # pixels
    gain: float = Field(0.5, ge=0.0, le=1.0)
    gain_range: tuple[float, float] = (0.8, 1.25)  # drawn log-uniformly: 0.8 and 1.25 equally likely
    zoom: float = Field(0.0, ge=0.0, le=1.0)  # every spatial axis stretched by one factor about the centre
    zoom_range: tuple[float, float] = (0.8, 1.25)  # drawn log-uniformly; > 1 magnifies
    noise: float = Field(0.3, ge=0.0, le=1.0)
    noise_std: float = Field(0.05, ge=0.0)  # relative to the sample's own standard deviation

    @model_validator(mode="after")
    def _check_ranges(self) -> "AugmentConfig":
        for name in ("gain_range", "zoom_range"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must be two factors 0 < low <= high, got {(low, high)}")
        return self
