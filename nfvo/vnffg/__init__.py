"""VNFFG → SFC desired state: chain/match parsing, SPI allocation, rendering (all pure)."""
