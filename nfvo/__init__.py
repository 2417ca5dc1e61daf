"""The NFVO: descriptor catalog, VNFFG rendering, NS orchestration, and its gRPC API + CLI."""
