using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SetML.Training;

/// <summary>
/// AdamW (Kingma &amp; Ba 2015; decoupled weight decay, Loshchilov &amp; Hutter 2019), the optimizer of
/// <see cref="TrainingLoop"/>. Same algorithm as <c>torch.optim.AdamW</c>:
/// <code>
/// p ← p·(1 − lr·λ);  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²
/// p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
/// </code>
/// </summary>
/// <remarks>
/// Why not TorchSharp's: TorchSharp 0.107's optimizers pass implicitly converted <see cref="Scalar"/> temporaries to
/// native calls. Nothing keeps such a temporary alive during the call, so a garbage collection on another thread can
/// finalize (free) it while libtorch still reads it; this was seen as random
/// <c>ExternalException: Expected false to be true ... toFloat (Scalar.h)</c> crashes in long trainings. Here every
/// Scalar is created explicitly and disposed after the loop that uses it.
/// </remarks>
internal sealed class AdamW : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _m, _v;
    private readonly double _beta1, _beta2, _eps;
    private int _step;

    /// <summary>Creates the optimizer; moment buffers are allocated here, outside any dispose scope.</summary>
    public AdamW(IEnumerable<Parameter> parameters, double learningRate, double weightDecay = 0, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        _parameters = parameters.ToArray();
        using (torch.no_grad())
        {
            _m = _parameters.Select(p => torch.zeros_like(p).DetachFromDisposeScope()).ToArray();
            _v = _parameters.Select(p => torch.zeros_like(p).DetachFromDisposeScope()).ToArray();
        }
        LearningRate = learningRate;
        WeightDecay = weightDecay;
        (_beta1, _beta2, _eps) = (beta1, beta2, eps);
    }

    /// <summary>The learning rate of the next step (schedules set it).</summary>
    public double LearningRate { get; set; }

    /// <summary>Decoupled weight decay λ.</summary>
    public double WeightDecay { get; }

    /// <summary>Zeroes every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters)
        {
            using var g = p.grad;
            g?.zero_();
        }
    }

    /// <summary>One AdamW update of every parameter that has a gradient.</summary>
    public void Step()
    {
        _step++;
        double bc1 = 1 - Math.Pow(_beta1, _step), bc2 = 1 - Math.Pow(_beta2, _step);
        using var noGrad = torch.no_grad();
        using Scalar decay = (1 - LearningRate * WeightDecay).ToScalar(), b1 = _beta1.ToScalar(), oneMinusB1 = (1 - _beta1).ToScalar(),
            b2 = _beta2.ToScalar(), oneMinusB2 = (1 - _beta2).ToScalar(), eps = _eps.ToScalar(),
            invSqrtBc2 = (1 / Math.Sqrt(bc2)).ToScalar(), negStep = (-LearningRate / bc1).ToScalar(), one = 1.ToScalar();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            using var g = p.grad;
            if (g is null) continue;
            if (WeightDecay > 0) p.mul_(decay);
            _m[i].mul_(b1).add_(g, oneMinusB1);
            _v[i].mul_(b2).addcmul_(g, g, oneMinusB2);
            using var denom = _v[i].sqrt();
            denom.mul_(invSqrtBc2).add_(eps, one);
            p.addcdiv_(_m[i], denom, negStep);
        }
    }

    /// <summary>
    /// <see cref="ClipGradientNorm"/> without reading anything back to the host (the training loop calls it every step):
    /// the norm is accumulated on the device in double precision, in the same order as <see cref="ClipGradientNorm"/>, and
    /// the gradients are multiplied by min(1, maxNorm / (norm + 1e-6)) — by exactly 1 when they are within the bound.
    /// </summary>
    internal void ClipGradients(double maxNorm)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using Scalar eps = 1e-6.ToScalar(), one = 1.0.ToScalar();
        Tensor? total = null;
        foreach (var p in _parameters)
        {
            using var g = p.grad;
            if (g is null) continue;
            var n = g.norm().to_type(ScalarType.Float32).to_type(ScalarType.Float64);
            total = total is null ? n.mul(n) : total.add(n.mul(n), one);
        }
        if (total is null) return;
        var coefficient = torch.tensor(maxNorm, ScalarType.Float64, total.device).div(total.sqrt().add(eps, one)).clamp_max(one);
        foreach (var p in _parameters)
        {
            using var g = p.grad;
            g?.mul_(coefficient);
        }
    }

    /// <summary>
    /// Scales all gradients so that their global L2 norm is at most <paramref name="maxNorm"/> (as
    /// <c>torch.nn.utils.clip_grad_norm_</c>), with explicit Scalars. Returns the norm before clipping.
    /// </summary>
    public double ClipGradientNorm(double maxNorm)
    {
        using var noGrad = torch.no_grad();
        double total = 0;
        foreach (var p in _parameters)
        {
            using var g = p.grad;
            if (g is null) continue;
            using var n = g.norm();
            double v = n.item<float>();
            total += v * v;
        }
        total = Math.Sqrt(total);
        double coefficient = maxNorm / (total + 1e-6);
        if (coefficient < 1)
        {
            using Scalar c = coefficient.ToScalar();
            foreach (var p in _parameters)
            {
                using var g = p.grad;
                g?.mul_(c);
            }
        }
        return total;
    }

    /// <summary>Frees the moment buffers.</summary>
    public void Dispose()
    {
        foreach (var t in _m) t.Dispose();
        foreach (var t in _v) t.Dispose();
    }
}
