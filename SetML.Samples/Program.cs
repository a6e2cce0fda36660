// SetML samples: dotnet run --project SetML.Samples -c Release -- [NAME] [--epochs N] [--seed S] [--device cpu|cuda|auto] [--out DIR] [--quick]
// No NAME runs the tour; "--help" lists the samples. The logic lives in SampleCli so tests can call it in-process.
return SetML.Samples.Infrastructure.SampleCli.Run(args);
