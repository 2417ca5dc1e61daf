"""VNF manager: lifecycle (pure), manager, monitoring, VIM drivers (local, fake)."""
