using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules;

/// <summary>
/// Batched, mask-aware mixture-of-Gaussians math for amortized clustering (Set Transformer eq. 17–18).
/// Parameters of a batch of mixtures are one tensor <c>θ [B, k, 1 + 2d]</c>: per component j,
/// <c>θ[..., j, 0]</c> = logit of π_j (π = softmax over j), <c>θ[..., j, 1..d]</c> = μ_j and
/// <c>θ[..., j, d+1..2d]</c> = log σ_j (diagonal covariance diag(σ_j²)).
/// </summary>
public static class MixtureOfGaussians
{
    /// <summary>Parameter values per component for element dimension <paramref name="d"/>: 1 + 2d.</summary>
    public static int ParametersPerComponent(int d) => 1 + 2 * d;

    /// <summary>
    /// <c>log π_j + log N(x_i; μ_j, diag σ_j²)</c> for every element and component: <c>x [B, N, d]</c> → <c>[B, N, k]</c>.
    /// </summary>
    public static Tensor LogJoint(Tensor theta, Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        long d = x.shape[2];
        var logPi = theta[.., .., 0].log_softmax(-1);                       // [B, k]
        var mu = theta[.., .., 1..(int)(1 + d)];                             // [B, k, d]
        var logSigma = theta[.., .., (int)(1 + d)..];                        // [B, k, d]
        var z = (x.unsqueeze(2) - mu.unsqueeze(1)) * (-logSigma).exp().unsqueeze(1); // [B, N, k, d]
        var logN = (z.Squared().sum(-1).MulScalar(-0.5) - logSigma.sum(-1).unsqueeze(1)).SubScalar(0.5 * d * Math.Log(2 * Math.PI));
        return logN.Plus(logPi.unsqueeze(1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean over the real elements of each set of <c>log Σ_j π_j N(x_i; μ_j, diag σ_j²)</c> (eq. 17 divided by n):
    /// <c>[B]</c>. Empty sets give 0.
    /// </summary>
    public static Tensor LogLikelihoodPerPoint(Tensor theta, Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var lp = LogJoint(theta, x).logsumexp(-1).MaskedFillScalar(mask.logical_not(), 0);    // [B, N]
        var n = mask.sum(1, type: lp.dtype).ClampMinScalar(1.0);
        return (lp.sum(1) / n).MoveToOuterDisposeScope();
    }

    /// <summary>The most likely component of every element: <c>[B, N]</c> (int64; meaningless at padded positions).</summary>
    public static Tensor Assignments(Tensor theta, Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return LogJoint(theta, x).argmax(-1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One EM update of a diagonal-covariance mixture started from <paramref name="theta"/> (E-step responsibilities,
    /// M-step weights, means and variances over the real elements). Returns θ' in the same layout. Components with no
    /// responsibility keep a finite (tiny) weight; variances are floored at 1e-8.
    /// </summary>
    public static Tensor EmStep(Tensor theta, Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var m = mask.unsqueeze(-1).to(x.dtype);                                    // [B, N, 1]
        var r = LogJoint(theta, x).softmax(-1) * m;                                // responsibilities [B, N, k]
        var nk = r.sum(1);                                                         // [B, k]
        var n = m.sum(1).ClampMinScalar(1.0);                                             // [B, 1]
        var nkSafe = nk.ClampMinScalar(1e-12).unsqueeze(-1);                            // [B, k, 1]
        var mu = torch.matmul(r.transpose(1, 2), x) / nkSafe;                      // [B, k, d]
        var ex2 = torch.matmul(r.transpose(1, 2), x.Squared()) / nkSafe;            // [B, k, d]
        var variance = (ex2 - mu.Squared()).ClampMinScalar(1e-8);
        var logPi = (nk / n).ClampMinScalar(1e-12).log();                               // [B, k]
        return torch.cat(new[] { logPi.unsqueeze(-1), mu, variance.log().MulScalar(0.5) }, -1).MoveToOuterDisposeScope();
    }
}
