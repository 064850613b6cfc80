"""Operations: the worker, leases, run administration, tag review and the command line."""
