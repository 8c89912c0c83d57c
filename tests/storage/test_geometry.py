import numpy as np

from seiscli.storage.segy_geometry import axis_coordinates


def test_regular_axis_with_step():
    np.testing.assert_array_equal(axis_coordinates(np.array([10, 14, 18, 14, 10])), [10, 14, 18])


def test_missing_lines_are_filled_on_the_common_step():
    # inline 16 has no traces at all, yet belongs to the survey's step-2 grid
    np.testing.assert_array_equal(axis_coordinates(np.array([10, 12, 14, 18, 20])), [10, 12, 14, 16, 18, 20])


def test_irregular_values_are_kept_as_they_are():
    values = np.array([1, 2, 100, 1000, 5000])  # a step-1 grid would be 5000 cells for 5 values
    np.testing.assert_array_equal(axis_coordinates(values), values)


def test_single_value():
    np.testing.assert_array_equal(axis_coordinates(np.array([7, 7, 7])), [7])
