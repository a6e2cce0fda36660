// Tests run one at a time: TorchSharp trainings already use both cores, and seeded runs stay reproducible.
[assembly: DoNotParallelize]
