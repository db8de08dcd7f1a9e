// Integration tests wait on real servers; each wait has its own deadline, this is the backstop.
jest.setTimeout(120_000);
