"""Development tools that are not part of the product's request path: loopback
stand-ins for third-party image servers (for tests, benchmarks and trying the product
without a GPU)."""
