"""The on-disk contracts: SEG-Y, the MDIO volume store, atomic outputs, provenance."""
