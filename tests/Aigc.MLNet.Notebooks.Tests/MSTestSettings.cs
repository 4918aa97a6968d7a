// TorchSharp's default random generator is process-wide: seeded tests must not interleave.
[assembly: DoNotParallelize]
