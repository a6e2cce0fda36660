using SetML.Models;
using SetML.Losses;
using SetML.Modules;
using SetML.Modules.SetPrediction;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.SetPrediction;

[TestClass]
public sealed class DspnTests
{
    private static DeepSetPredictionNetwork TinyDspn(int slots, int steps, double eta, double momentum = 0)
    {
        torch.random.manual_seed(5);
        var enc = new RelaxedDeepSetsEncoder(2, new RelaxedDeepSetsOptions { HiddenSizes = new[] { 8 }, EmbeddingDimension = 3, Pooling = RelaxedPooling.Sum, Slots = slots });
        return new DeepSetPredictionNetwork(enc, slots, steps, eta, representationWeight: 0.1, momentum: momentum);
    }

    [TestMethod]
    public void OuterGradientThroughTheInnerLoopMatchesFiniteDifferences()
    {
        using var scope = torch.NewDisposeScope();
        torch.random.manual_seed(11);
        var net = new SetPredictionNetwork(new Mlp(3, new[] { 5 }, 3, Activation.Tanh), TinyDspn(slots: 3, steps: 3, eta: 2.0, momentum: 0.5));
        net.to(ScalarType.Float64);
        var x = torch.randn(2, 3, dtype: ScalarType.Float64);
        var target = torch.rand(2, 3, 2, dtype: ScalarType.Float64);
        var mask = torch.tensor(new[] { true, true, false, true, false, false }, new long[] { 2, 3 });
        double Loss() => net.Loss(x, null, target, mask, SetLossKind.Chamfer, PairwiseCost.SquaredError).item<double>();

        foreach (var p in net.parameters()) p.grad?.zero_();
        net.Loss(x, null, target, mask, SetLossKind.Chamfer, PairwiseCost.SquaredError).backward();
        int checkedCount = 0;
        foreach (var (name, p) in net.named_parameters())
        {
            var analytic = p.grad!.clone();
            var flat = p.detach().view(-1);
            for (long k = 0; k < Math.Min(flat.shape[0], 4); k++)
            {
                double h = 1e-6, orig = flat[k].item<double>();
                using (torch.no_grad()) flat[k] = orig + h;
                double up = Loss();
                using (torch.no_grad()) flat[k] = orig - h;
                double down = Loss();
                using (torch.no_grad()) flat[k] = orig;
                double numeric = (up - down) / (2 * h), a = analytic.view(-1)[k].item<double>();
                Assert.AreEqual(numeric, a, 1e-6 + 1e-4 * Math.Abs(numeric), $"{name}[{k}]");
                checkedCount++;
            }
        }
        Assert.IsGreaterThan(20, checkedCount);
        // The encoder g_enc and the initial set are reached only through the inner loop.
        var initialGrad = ((DeepSetPredictionNetwork)net.Decoder).InitialSet.grad!;
        Assert.IsGreaterThan(0.0, initialGrad.abs().sum().item<double>());
    }

    [TestMethod]
    public void InitialSetFromLatentDependsOnZAndTheLossCanUseTheFinalSetOnly()
    {
        using var scope = torch.NewDisposeScope();
        torch.random.manual_seed(3);
        var enc = new RelaxedDeepSetsEncoder(2, new RelaxedDeepSetsOptions { HiddenSizes = new[] { 8 }, EmbeddingDimension = 3, Pooling = RelaxedPooling.FSPool, Slots = 4 });
        var dspn = new DeepSetPredictionNetwork(enc, 4, innerSteps: 2, innerLearningRate: 1, lossOnEveryStep: false,
            initialSetKind: DspnInitialSet.FromLatent, initialHiddenSizes: new[] { 8 });
        var z = torch.randn(2, 3);
        var states = dspn.Decode(z, training: false);
        Assert.HasCount(3, states);
        // Two inputs start from two different sets (a learned Ŷ⁽⁰⁾ would be the same for both).
        Assert.IsGreaterThan(1e-4, (states[0].Elements[0] - states[0].Elements[1]).abs().max().item<float>());
        Assert.IsTrue(states[0].Presence.ge(0).all().item<bool>() && states[0].Presence.le(1).all().item<bool>());
        Assert.Throws<InvalidOperationException>(() => _ = dspn.InitialSet);
        var trained = dspn.Decode(z, training: true);
        var used = dspn.LossStates(trained);
        Assert.HasCount(1, used);
        Assert.AreSame(trained[^1].Elements, used[0].Elements);
        // The outer loss on the final set reaches the initial-set MLP through the inner loop.
        var net = new SetPredictionNetwork(new Mlp(3, new[] { 4 }, 3, Activation.Tanh), dspn);
        var target = torch.rand(2, 2, 2);
        net.Loss(torch.randn(2, 3), null, target, torch.ones(2, 2, dtype: ScalarType.Bool), SetLossKind.Hungarian, PairwiseCost.SquaredError).backward();
        Assert.IsTrue(dspn.named_parameters().Where(p => p.name.Contains("initialDecoder")).All(p => p.parameter.grad is { } g && g.abs().sum().item<float>() > 0));
        Assert.IsTrue(TinyDspn(3, 2, 1).LossStates(new PredictedSetState[3]).Count == 3, "the paper's loss averages over every state");
        Assert.Throws<ArgumentException>(() => new DspnOptions { InitialSet = DspnInitialSet.FromLatent, InitialSetHiddenSizes = new[] { 0 } }.Validate());
    }

    [TestMethod]
    public void LogitPresenceStepsTheLogitAndStaysInsideZeroOne()
    {
        using var scope = torch.NewDisposeScope();
        torch.random.manual_seed(7);
        var enc = new RelaxedDeepSetsEncoder(2, new RelaxedDeepSetsOptions { HiddenSizes = new[] { 8 }, EmbeddingDimension = 3, Pooling = RelaxedPooling.Sum, Slots = 3 });
        var z = torch.randn(4, 3).MulScalar(3);
        // The gradient of L_repr on the presence at the initial set (p = 1/2), to pick η: the paper's step moves p by up
        // to 2 (so it clamps), the logit step moves the logit by at most 2 · p(1 − p) = 1/2.
        var probe = new DeepSetPredictionNetwork(enc, 3, innerSteps: 1, innerLearningRate: 1);
        var y0 = probe.InitialSet.expand(4, -1, -1).detach().requires_grad_();
        var p0 = probe.InitialPresence.expand(4, -1).detach().requires_grad_();
        var g = torch.autograd.grad(new[] { probe.RepresentationLoss(y0, p0, z) }, new[] { p0 })[0];
        double eta = 2 / g.abs().max().item<float>();
        var clamped = new DeepSetPredictionNetwork(enc, 3, innerSteps: 1, innerLearningRate: eta);
        var logit = new DeepSetPredictionNetwork(enc, 3, innerSteps: 1, innerLearningRate: eta, logitPresence: true);
        using (torch.no_grad()) { clamped.InitialSet.copy_(probe.InitialSet); logit.InitialSet.copy_(probe.InitialSet); }
        var pc = clamped.Decode(z, training: false)[^1].Presence;
        var pl = logit.Decode(z, training: false)[^1].Presence;
        Assert.IsTrue(pc.eq(0).logical_or(pc.eq(1)).any().item<bool>(), "the paper's step clamps");
        Assert.IsTrue(pl.gt(0).all().item<bool>() && pl.lt(1).all().item<bool>(), "the logit step stays inside (0, 1)");
        // σ(logit(1/2) − η g · 1/4) = σ(−η g / 4).
        var expected = g.MulScalar(-eta / 4).sigmoid();
        Assert.AreEqual(0.0, (pl - expected).abs().max().item<float>(), 1e-5);
    }

    [TestMethod]
    public void EachInnerStepIsPermutationEquivariant()
    {
        using var scope = torch.NewDisposeScope();
        var dspn = TinyDspn(slots: 5, steps: 1, eta: 3.0);
        var y = torch.rand(2, 5, 2).requires_grad_();
        var p = torch.rand(2, 5).requires_grad_();
        var z = torch.randn(2, 3);
        var perm = torch.tensor(new long[] { 3, 0, 4, 1, 2 });
        var s = dspn.InnerStep(new PredictedSetState(y, p), z, createGraph: false);
        var yp = y.detach().index_select(1, perm).requires_grad_();
        var pp = p.detach().index_select(1, perm).requires_grad_();
        var sp = dspn.InnerStep(new PredictedSetState(yp, pp), z, createGraph: false);
        Assert.IsTrue(torch.allclose(s.Elements.index_select(1, perm), sp.Elements, 1e-5, 1e-6));
        Assert.IsTrue(torch.allclose(s.Presence.index_select(1, perm), sp.Presence, 1e-5, 1e-6));
        Assert.IsFalse(torch.allclose(s.Elements, y), "the step moved the set");
    }

    [TestMethod]
    public void PresenceStaysInUnitIntervalAndStepsCanBeRaisedAtPrediction()
    {
        using var scope = torch.NewDisposeScope();
        var dspn = TinyDspn(slots: 4, steps: 10, eta: 800);
        using var noGrad = torch.no_grad();
        var z = torch.randn(3, 3) * 5;
        var states = dspn.Decode(z, training: false, steps: 30);
        Assert.HasCount(31, states);
        foreach (var s in states)
        {
            Assert.IsTrue(s.Presence.ge(0).all().item<bool>() && s.Presence.le(1).all().item<bool>());
            Assert.IsTrue(s.Elements.isfinite().all().item<bool>());
            Assert.IsFalse(s.Elements.requires_grad, "prediction states are detached");
        }
        Assert.HasCount(11, dspn.Decode(z, training: false));
    }

    [TestMethod]
    public void RelaxedEncoderIgnoresPaddingAndOrder()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var pooling in Enum.GetValues<RelaxedPooling>()) CheckEncoder(pooling);
    }

    private static void CheckEncoder(RelaxedPooling pooling)
    {
        torch.random.manual_seed(2);
        var enc = new RelaxedDeepSetsEncoder(2, new RelaxedDeepSetsOptions { HiddenSizes = new[] { 8 }, EmbeddingDimension = 4, Pooling = pooling, Slots = 6 });
        var x = torch.rand(1, 3, 2);
        var m = torch.ones(1, 3, dtype: ScalarType.Bool);
        var padded = torch.cat(new[] { x, torch.full(1, 2, 2, 99f) }, 1);
        var pm = torch.tensor(new[] { true, true, true, false, false }, new long[] { 1, 5 });
        var rev = x.flip(1);
        var a = enc.forward(x, m);
        Assert.IsTrue(torch.allclose(a, enc.forward(padded, pm), 1e-5, 1e-6), pooling.ToString());
        Assert.IsTrue(torch.allclose(a, enc.forward(rev, m), 1e-5, 1e-6), pooling.ToString());
        var empty = enc.forward(torch.zeros(1, 2, 2), torch.zeros(1, 2, dtype: ScalarType.Bool));
        Assert.IsTrue(empty.isfinite().all().item<bool>());
    }

    [TestMethod]
    public void AutoEncoderTrainingReducesTheLoss()
    {
        using var scope = torch.NewDisposeScope();
        torch.random.manual_seed(3);
        var dspn = new DeepSetPredictionNetwork(new RelaxedDeepSetsEncoder(2, new RelaxedDeepSetsOptions { HiddenSizes = new[] { 32 }, EmbeddingDimension = 16, Pooling = RelaxedPooling.Sum, Slots = 6 }), 6, 5, 20);
        var net = SetPredictionNetwork.AutoEncoder(dspn);
        var sets = torch.rand(8, 6, 2);
        var mask = torch.arange(6).unsqueeze(0).lt(torch.randint(2, 7, new long[] { 8, 1 }));
        using var opt = torch.optim.Adam(net.parameters(), 1e-2);
        double first = 0, last = 0;
        for (int i = 0; i < 20; i++)
        {
            using var s = torch.NewDisposeScope();
            opt.zero_grad();
            var loss = net.Loss(sets, mask, sets, mask, SetLossKind.Chamfer, PairwiseCost.SquaredError);
            if (i == 0) first = loss.item<float>();
            last = loss.item<float>();
            loss.backward();
            opt.step();
        }
        Assert.IsLessThan(first * 0.8, last, $"loss {first} → {last}");
    }
}
