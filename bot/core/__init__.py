"""Pure core: what a digest holds and how it reads. No I/O; imports only `storage.models`."""
