// Tests run one at a time: TorchSharp already uses every core inside each test (2-core CI budget), and seeded runs stay reproducible.
[assembly: DoNotParallelize]
