using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;
using SetML.Persistence;
using SetML.Tests.Foundation;
using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Trainers;

/// <summary>
/// ML.NET's own conventions, as Microsoft.ML.TorchSharp follows them: <c>MLContext.CancelExecution()</c> (checked
/// between mini-batches), ML.NET's progress channel, and <c>MLContext.GpuDeviceId</c> / <c>FallbackToCpu</c> choosing
/// the device when the options leave <see cref="SetTrainingOptions.Device"/> at <see cref="SetDevice.Auto"/>.
/// </summary>
[TestClass]
public sealed class MLNetConventionTests
{
    private static readonly DeepSetsOptions Tiny = new() { PhiHiddenSizes = new[] { 16 }, LatentDimension = 16, RhoHiddenSizes = new[] { 16 }, EmbeddingDimension = 8 };

    /// <summary>
    /// <c>MLContext.CancelExecution()</c>. ML.NET 5.0.1 declares it internal (AutoML calls it to stop a trial that ran
    /// out of time), so a test reaches it by reflection; applications use <see cref="SetTrainingOptions.CancellationToken"/>.
    /// </summary>
    private static void CancelExecution(MLContext ml)
        => (typeof(MLContext).GetMethod("CancelExecution", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            ?? throw new MissingMethodException("MLContext.CancelExecution is gone from this ML.NET")).Invoke(ml, null);

    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    private static (MLContext, IDataView) Data(int rows = 200)
    {
        var ml = new MLContext(seed: 0);
        return (ml, TestSets.Load(ml, TestSets.Points(rows, 31)));
    }

    [TestMethod]
    public void CancelExecution_StopsTheLoopBeforeTheNextMiniBatch()
    {
        // The cancel arrives in the middle of mini-batch 3 (from inside its loss): batch 3 finishes, batch 4 never starts.
        var ml = new MLContext(seed: 0);
        var env = MLNetInternals.GetEnvironment(ml.Transforms);
        using var model = nn.Linear(2, 1);
        int batches = 0;
        var hooks = new TrainingHooks { CheckAlive = () => MLNetInternals.CheckAlive(env) };
        var e = Assert.ThrowsExactly<OperationCanceledException>(() => TrainingLoop.Run(model, new SetTrainingOptions { Epochs = 5, BatchSize = 4 }, 100, idx =>
        {
            if (++batches == 3) CancelExecution(ml);
            using var x = torch.ones(idx.Length, 2);
            return model.call(x).pow(2).mean();
        }, hooks: hooks));
        Assert.AreEqual(3, batches, "mini-batches run");
        StringAssert.Contains(e.Message, "CancelExecution");
    }

    [TestMethod]
    public void CancelExecution_FromAnotherThread_StopsARunningFitWithinOneMiniBatch()
    {
        var (ml, train) = Data(600);
        var epochDone = new ManualResetEventSlim();
        var cancelled = new ManualResetEventSlim();
        var epochs = new List<int>();
        var batches = new List<TrainingBatchProgress>();
        // Epoch 1 reports, then waits until the test thread has cancelled: the cancel lands between two mini-batches of
        // a 19-batch epoch, and training must stop before the next one.
        var progress = new SynchronousProgress(p => { lock (epochs) epochs.Add(p.Epoch); epochDone.Set(); cancelled.Wait(TimeSpan.FromSeconds(30)); });
        var options = new SetRegressionOptions { Epochs = 50, BatchSize = 32, Encoder = Tiny, Progress = progress };
        var fit = Task.Run(() => ml.Regression.Trainers.DeepSets("Label", "Points", 2, options).Fit(train));
        Assert.IsTrue(epochDone.Wait(TimeSpan.FromSeconds(60)), "epoch 1 never finished");
        CancelExecution(ml);
        cancelled.Set();
        var e = Assert.ThrowsExactly<AggregateException>(() => fit.Wait(TimeSpan.FromSeconds(60)));
        Assert.IsInstanceOfType<OperationCanceledException>(e.InnerException);
        CollectionAssert.AreEqual(new[] { 1 }, epochs, "no epoch after the cancel");
    }

    [TestMethod]
    public void ProgressChannel_ReceivesEpochCheckpointsWithLosses()
    {
        var (ml, train) = Data(100);
        ml.Regression.Trainers.DeepSets("Label", "Points", 2, new SetRegressionOptions { Epochs = 3, Encoder = Tiny, ValidationFraction = 0.2 }).Fit(train);
        var events = MLNetInternals.ProgressEvents(MLNetInternals.GetEnvironment(ml.Transforms));
        var checkpoints = events.Where(e => e.Kind == "Progress" && e.Metrics.Length == 2 && e.Metrics[0] is double).ToList();
        Assert.HasCount(3, checkpoints, "one checkpoint per epoch; events: " + string.Join("; ", events.Select(e => $"{e.Channel}/{e.Kind}/{string.Join(",", e.Metrics)}")));
        Assert.IsTrue(checkpoints.All(c => double.IsFinite(c.Metrics[0]!.Value) && c.Metrics[1] is double v && double.IsFinite(v)), "training and validation loss");
        CollectionAssert.AreEqual(new double?[] { 1, 2, 3 }, checkpoints.Select(c => c.Progress.FirstOrDefault()).ToArray(), "epochs");
    }

    private static DeviceType TrainedOn(MLContext ml, IDataView train, SetDevice device = SetDevice.Auto)
    {
        using var model = ml.Regression.Trainers.DeepSets("Label", "Points", 2, new SetRegressionOptions { Epochs = 1, Encoder = Tiny, Device = device }).Fit(train);
        return model.Network.parameters().First().device_type;
    }

    [TestMethod]
    public void GpuDeviceIdAndFallbackToCpu_ChooseTheDevice_AndOptionsWin()
    {
        var (ml, train) = Data(64);
        Assert.AreEqual(SetDevice.Auto, new SetModelOptions().Device, "options leave the device to the MLContext by default");
        Assert.AreEqual(DeviceType.CPU, TrainedOn(ml, train), "GpuDeviceId unset → CPU");

        ml.GpuDeviceId = 0;
        ml.FallbackToCpu = false;
        Assert.AreEqual(DeviceType.CPU, TrainedOn(ml, train, SetDevice.Cpu), "options.Device = Cpu wins over GpuDeviceId");
        if (torch.cuda.is_available())
        {
            Assert.AreEqual(DeviceType.CUDA, TrainedOn(ml, train), "GpuDeviceId 0 with CUDA → GPU");
            return;
        }
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => TrainedOn(ml, train));
        StringAssert.Contains(e.Message, "FallbackToCpu");
        ml.FallbackToCpu = true;
        Assert.AreEqual(DeviceType.CPU, TrainedOn(ml, train), "GpuDeviceId 0, no CUDA, FallbackToCpu → CPU");
        Assert.ThrowsExactly<InvalidOperationException>(() => TrainedOn(ml, train, SetDevice.Cuda), "options.Device = Cuda never falls back");
    }

    [TestMethod]
    public void GpuDeviceId_WithCuda_TrainsAndPredictsOnThatGpu()
    {
        if (!torch.cuda.is_available())
            Assert.Inconclusive("CUDA is not available (CPU libtorch or no NVIDIA GPU): the GPU half of the device rules cannot run here.");
        var (ml, train) = Data(64);
        ml.GpuDeviceId = torch.cuda.device_count() - 1;
        using var model = ml.Regression.Trainers.DeepSets("Label", "Points", 2, new SetRegressionOptions { Epochs = 1, Encoder = Tiny }).Fit(train);
        var p = model.Network.parameters().First();
        Assert.AreEqual(DeviceType.CUDA, p.device_type);
        Assert.AreEqual(ml.GpuDeviceId, p.device_index);
        Assert.IsTrue(model.Transform(train).GetColumn<float>("Score").All(float.IsFinite));
        ml.GpuDeviceId = torch.cuda.device_count();
        Assert.ThrowsExactly<InvalidOperationException>(() => ml.Regression.Trainers.DeepSets("Label", "Points", 2, new SetRegressionOptions { Epochs = 1, Encoder = Tiny }).Fit(train));
    }
}
