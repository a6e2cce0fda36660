using System.Reflection;
using SetML.Models;
using SetML.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SetML.Modules
{
    /// <summary>
    /// Base class of every set → vector encoder. The calling convention is the same for all encoders
    /// (as PyTorch Geometric's aggregations share one): <c>forward(x, mask)</c> with
    /// <c>x: [B, Nmax, d]</c> (padded elements) and <c>mask: [B, Nmax]</c> (bool, true = real element) returns
    /// <c>[B, OutputDimension]</c>. Padding never changes the result, and an empty set gives a finite embedding.
    /// </summary>
    public abstract class SetEncoder : nn.Module<Tensor, Tensor, Tensor>
    {
        /// <summary>Creates the encoder module with the given TorchSharp module name.</summary>
        protected SetEncoder(string name) : base(name) { }

        /// <summary>The element dimension d this encoder reads.</summary>
        public abstract int InputDimension { get; }

        /// <summary>The size of the embedding this encoder returns.</summary>
        public abstract int OutputDimension { get; }
    }

    /// <summary>
    /// Base class of permutation-equivariant set → set layers: <c>forward(x [B,N,d_in], mask [B,N]) → [B,N,d_out]</c>.
    /// Output rows at padded positions are zero.
    /// </summary>
    public abstract class SetLayer : nn.Module<Tensor, Tensor, Tensor>
    {
        /// <summary>Creates the layer module with the given TorchSharp module name.</summary>
        protected SetLayer(string name) : base(name) { }

        /// <summary>Element dimension in.</summary>
        public abstract int InputDimension { get; }

        /// <summary>Element dimension out.</summary>
        public abstract int OutputDimension { get; }
    }
}

namespace SetML.Models
{
    /// <summary>
    /// Chooses and configures a set encoder (set → vector). Every SetML featurizer and trainer takes one, so any
    /// encoder can back any task. Concrete options are serialized into the model file.
    /// </summary>
    [PolymorphicSpec]
    public abstract class SetEncoderOptions
    {
        /// <summary>Builds the encoder for sets of element dimension <paramref name="elementDimension"/>.</summary>
        public abstract SetEncoder CreateEncoder(int elementDimension);

        /// <summary>Size of the embedding <see cref="CreateEncoder"/> returns for element dimension <paramref name="elementDimension"/>.</summary>
        public virtual int CreateEmbeddingDimension(int elementDimension)
        {
            using var e = CreateEncoder(elementDimension);
            return e.OutputDimension;
        }

        /// <summary>
        /// Whether the encoder is mini-batch consistent (can encode a set chunk by chunk; see docs/encoders.md): true
        /// exactly when the encoder type <see cref="CreateEncoder"/> declares (its covariant return type, e.g.
        /// <c>public override DeepSetsEncoder CreateEncoder(int d)</c>) implements <see cref="IMiniBatchConsistentEncoder"/>.
        /// There is no separate flag to keep in step with the module.
        /// </summary>
        public bool IsMiniBatchConsistent => typeof(IMiniBatchConsistentEncoder).IsAssignableFrom(EncoderType());

        // The encoder type CreateEncoder declares it returns (the most derived override's return type).
        private Type EncoderType()
        {
            for (var t = GetType(); t != null; t = t.BaseType)
            {
                var m = t.GetMethod(nameof(CreateEncoder), BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly, [typeof(int)]);
                if (m != null) return m.ReturnType;
            }
            return typeof(SetEncoder);
        }

        /// <summary>
        /// Bytes of the activations the encoder's forward pass allocates for <paramref name="batch"/> sets padded to
        /// <paramref name="setSize"/> elements of dimension <paramref name="elementDimension"/> (see <see cref="ForwardMemory"/>),
        /// input included. SetML checks it against the memory budget before running a batch. The base implementation assumes
        /// a cost quadratic in the set size (<see cref="ForwardMemory.UnknownEncoder"/>); override it in a custom encoder.
        /// </summary>
        public virtual double EstimateForwardBytes(int elementDimension, double batch, double setSize)
            => ForwardMemory.UnknownEncoder(batch, setSize, elementDimension);

        /// <summary>How the encoder's memory grows with the set size n, for error messages.</summary>
        public virtual string MemoryGrowth => "no estimate given, assumed quadratic in the set size";
    }
}
