using SetML.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Tests.Foundation;

/// <summary>SetML's AdamW (explicit Scalars) computes what torch.optim.AdamW computes.</summary>
[TestClass]
public sealed class AdamWTests
{
    [TestMethod]
    [DataRow(0.0)] [DataRow(0.01)]
    public void MatchesTorchSharpAdamW(double weightDecay)
    {
        torch.random.manual_seed(3);
        using var a = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1));
        using var b = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1));
        using (torch.no_grad())
            foreach (var ((_, pa), (_, pb)) in a.named_parameters().Zip(b.named_parameters())) pb.copy_(pa);
        using var ours = new AdamW(a.parameters(), 0.01, weightDecay);
        using var reference = torch.optim.AdamW(b.parameters(), 0.01, weight_decay: weightDecay);
        var x = torch.randn(16, 4);
        var y = torch.randn(16, 1);
        for (int step = 0; step < 20; step++)
        {
            ours.ZeroGrad(); nn.functional.mse_loss(a.forward(x), y).backward(); ours.Step();
            reference.zero_grad(); nn.functional.mse_loss(b.forward(x), y).backward(); reference.step();
        }
        foreach (var ((name, pa), (_, pb)) in a.named_parameters().Zip(b.named_parameters()))
        {
            var da = pa.data<float>().ToArray(); var db = pb.data<float>().ToArray();
            for (int i = 0; i < da.Length; i++) Assert.AreEqual(db[i], da[i], 1e-5, $"{name}[{i}]");
        }
    }

    [TestMethod]
    public void ClipGradientNorm_MatchesDefinition()
    {
        torch.random.manual_seed(4);
        using var m = nn.Linear(3, 2);
        using var opt = new AdamW(m.parameters(), 0.1);
        (m.forward(torch.randn(5, 3) * 10).pow(2).sum()).backward();
        double before = opt.ClipGradientNorm(0.5);
        Assert.IsTrue(before > 0.5);
        double after = Math.Sqrt(m.parameters().Sum(p => Math.Pow(p.grad!.norm().item<float>(), 2)));
        Assert.AreEqual(0.5, after, 1e-4);
    }
}
