"""SEG-Y rev1 header layouts as numpy structured dtypes.

Every one of the 240 trace-header bytes belongs to exactly one field, so decoding to native
integers and encoding back gives the original bytes, whatever a file puts in them.
"""

import numpy as np

# name:byte:type, byte 1-based as the standard numbers them.
_TRACE_FIELDS = """
trace_seq_num_line:1:i4 trace_seq_num_reel:5:i4 orig_field_record_num:9:i4
trace_num_orig_record:13:i4 energy_source_point_num:17:i4 ensemble_num:21:i4
trace_num_ensemble:25:i4 trace_id_code:29:i2 vertically_summed_traces:31:i2
horizontally_stacked_traces:33:i2 data_use:35:i2 source_to_receiver_distance:37:i4
receiver_group_elevation:41:i4 source_surface_elevation:45:i4 source_depth_below_surface:49:i4
receiver_datum_elevation:53:i4 source_datum_elevation:57:i4 source_water_depth:61:i4
receiver_water_depth:65:i4 elevation_depth_scalar:69:i2 coordinate_scalar:71:i2
source_coord_x:73:i4 source_coord_y:77:i4 group_coord_x:81:i4 group_coord_y:85:i4
coordinate_unit:89:i2 weathering_velocity:91:i2 subweathering_velocity:93:i2
source_uphole_time:95:i2 group_uphole_time:97:i2 source_static_correction:99:i2
receiver_static_correction:101:i2 total_static_applied:103:i2 lag_time_a:105:i2 lag_time_b:107:i2
delay_recording_time:109:i2 mute_time_start:111:i2 mute_time_end:113:i2 samples_per_trace:115:i2
sample_interval:117:i2 instrument_gain_type:119:i2 instrument_gain_const:121:i2
instrument_gain_initial:123:i2 correlated_data:125:i2 sweep_freq_start:127:i2
sweep_freq_end:129:i2 sweep_length:131:i2 sweep_type:133:i2 sweep_taper_start:135:i2
sweep_taper_end:137:i2 taper_type:139:i2 alias_filter_freq:141:i2 alias_filter_slope:143:i2
notch_filter_freq:145:i2 notch_filter_slope:147:i2 low_cut_freq:149:i2 high_cut_freq:151:i2
low_cut_slope:153:i2 high_cut_slope:155:i2 year_recorded:157:i2 day_of_year:159:i2
hour_of_day:161:i2 minute_of_hour:163:i2 second_of_minute:165:i2 time_basis_code:167:i2
trace_weighting_factor:169:i2 group_num_roll_switch:171:i2 group_num_first_trace:173:i2
group_num_last_trace:175:i2 gap_size:177:i2 taper_overtravel:179:i2 cdp_x:181:i4 cdp_y:185:i4
inline:189:i4 crossline:193:i4 shot_point:197:i4 shot_point_scalar:201:i2 trace_value_unit:203:i2
transduction_const_mantissa:205:i4 transduction_const_exponent:209:i2 transduction_unit:211:i2
device_trace_id:213:i2 times_scalar:215:i2 source_type_orientation:217:i2
source_energy_dir_mantissa:219:i4 source_energy_dir_exponent:223:i2
source_measurement_mantissa:225:i4 source_measurement_exponent:229:i2
source_measurement_unit:231:i2 unassigned_233:233:i4 unassigned_237:237:i4
"""

# The binary header fields seis reads (offsets within the 400-byte binary header, 1-based).
BINARY_FIELDS = {
    "job_id": (1, "i4"),
    "line_num": (5, "i4"),
    "reel_num": (9, "i4"),
    "sample_interval": (17, "i2"),
    "orig_sample_interval": (19, "i2"),
    "samples_per_trace": (21, "u2"),
    "orig_samples_per_trace": (23, "u2"),
    "data_sample_format": (25, "i2"),
    "ensemble_fold": (27, "i2"),
    "trace_sorting_code": (29, "i2"),
    "measurement_system_code": (55, "i2"),
    "impulse_polarity_code": (57, "i2"),
    "segy_revision": (301, "u2"),
    "fixed_length_trace_flag": (303, "i2"),
    "num_extended_text_headers": (305, "i2"),
    "extended_samples_per_trace": (69, "i4"),
    "byte_order_marker": (97, "u4"),
}


def _parse(table: str) -> list[tuple[str, int, str]]:
    fields = []
    for item in table.split():
        name, byte, kind = item.split(":")
        fields.append((name, int(byte) - 1, kind))
    return fields


TRACE_FIELDS = _parse(_TRACE_FIELDS)


def trace_header_dtype(byte_order: str) -> np.dtype:
    """The 240-byte trace header as a structured dtype in ``byte_order`` ('<' or '>')."""
    return np.dtype(
        {
            "names": [name for name, _, _ in TRACE_FIELDS],
            "formats": [byte_order + kind for _, _, kind in TRACE_FIELDS],
            "offsets": [offset for _, offset, _ in TRACE_FIELDS],
            "itemsize": 240,
        }
    )


STORED_HEADER_DTYPE = trace_header_dtype("<")


def decode_trace_headers(raw: np.ndarray, byte_order: str) -> np.ndarray:
    """Raw 240-byte records (any shape, dtype ``V240``) to little-endian structured headers."""
    return raw.view(trace_header_dtype(byte_order)).astype(STORED_HEADER_DTYPE)


def encode_trace_headers(headers: np.ndarray, byte_order: str) -> np.ndarray:
    """Structured headers back to raw 240-byte records in ``byte_order``."""
    return headers.astype(trace_header_dtype(byte_order)).view("V240")


def header_field(name_or_byte: str | int) -> tuple[int, str]:
    """(0-based offset, numpy kind) of a trace header field given by standard name or 1-based byte."""
    if isinstance(name_or_byte, int):
        return name_or_byte - 1, "i4"
    for name, offset, kind in TRACE_FIELDS:
        if name == name_or_byte:
            return offset, kind
    raise KeyError(name_or_byte)


def read_binary_header(raw: bytes, byte_order: str) -> dict[str, int]:
    """Decode the fields of ``BINARY_FIELDS`` from the 400-byte binary header."""
    values = {}
    for name, (byte, kind) in BINARY_FIELDS.items():
        dtype = np.dtype(byte_order + kind)
        values[name] = int(np.frombuffer(raw, dtype, count=1, offset=byte - 1)[0])
    return values
