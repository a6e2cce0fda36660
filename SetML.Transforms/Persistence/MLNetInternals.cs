// ─────────────────────────────────────────────────────────────────────────────────────────────────────────────
//  The ONLY file in SetML that touches ML.NET internals. See docs/architecture.md, "Persistence".
//
//  ML.NET 5.0.1 keeps the members of ModelSaveContext, and the types ModelLoadContext, VersionInfo,
//  LoadableClassAttribute and SignatureLoadModel, internal. SetML.Transforms compiles against a publicized copy of
//  Microsoft.ML.Core (build/MLNetInterop.targets) and declares IgnoresAccessChecksTo below, so the runtime lets
//  this assembly call them. Without the attribute the runtime throws MethodAccessException, and ML.NET's
//  ComponentCatalog silently skips our [LoadableClass] attributes (so models would not load).
//
//  Everything else in SetML goes through the small wrappers here (SetMLModelWriter / SetMLModelReader,
//  SchemaShapes.Column). MLNetInternalsTests checks each member this file relies on, so a future ML.NET that
//  moves one fails loudly in CI rather than at a user's model load.
// ─────────────────────────────────────────────────────────────────────────────────────────────────────────────
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SetML.Persistence;

[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Core")]

// One loadable class per persisted SetML transformer: ML.NET finds the factory by the loader signature written in
// the model file, after loading this assembly by the simple name also written there (so a fresh process needs no call).
[assembly: LoadableClass(typeof(SetML.Transforms.SetModelTransformer), typeof(SetML.Persistence.SetMLLoaders), null, typeof(SignatureLoadModel),
    "SetML model", SetML.Transforms.SetModelTransformer.LoaderSignature)]

// One loadable class per persisted SetML transformer (ML.NET finds them by LoaderSignature when loading a .zip).

namespace System.Runtime.CompilerServices
{
    /// <summary>
    /// Tells the .NET runtime to skip visibility checks when this assembly accesses members of the named assembly.
    /// Honoured by CoreCLR; the C# compiler ignores it (hence the publicized compile reference).
    /// </summary>
    [AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
    internal sealed class IgnoresAccessChecksToAttribute : Attribute
    {
        /// <summary>Creates the attribute for <paramref name="assemblyName"/>.</summary>
        public IgnoresAccessChecksToAttribute(string assemblyName) => AssemblyName = assemblyName;

        /// <summary>The simple name of the assembly whose internals may be accessed.</summary>
        public string AssemblyName { get; }
    }
}

namespace SetML.Persistence
{
    /// <summary>Version facts about the ML.NET this build of SetML was compiled and tested against.</summary>
    internal static class MLNetInternals
    {
        /// <summary>The exact Microsoft.ML version whose internals SetML relies on.</summary>
        public const string ExpectedMLNetVersion = "5.0.1";

        private static int _checked;

        /// <summary>
        /// Verifies, once per process, that the loaded Microsoft.ML.Core is the pinned version. ML.NET keeps the
        /// assembly version at 1.0.0.0 across releases, so the informational version is what tells them apart.
        /// </summary>
        public static void EnsureSupportedVersion()
        {
            if (Interlocked.Exchange(ref _checked, 1) == 1) return;
            var v = LoadedMLNetVersion();
            if (!v.StartsWith(ExpectedMLNetVersion, StringComparison.Ordinal))
                throw new InvalidOperationException(
                    $"SetML was built against Microsoft.ML {ExpectedMLNetVersion}, but Microsoft.ML.Core {v} is loaded. " +
                    "SetML's model persistence uses ML.NET internals that may differ between versions; " +
                    $"reference Microsoft.ML [{ExpectedMLNetVersion}] exactly.");
        }

        /// <summary>
        /// The <see cref="IHostEnvironment"/> (the MLContext) behind an ML.NET catalog, e.g. <c>mlContext.Transforms</c> or
        /// <c>mlContext.Regression.Trainers</c>. ML.NET exposes it only through the internal interface
        /// <c>Microsoft.ML.Data.IInternalCatalog</c> (in Microsoft.ML.Data, which SetML does not publicize), so it is
        /// read by reflection here.
        /// </summary>
        public static IHostEnvironment GetEnvironment(object catalog)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            var iface = catalog.GetType().GetInterface("Microsoft.ML.Data.IInternalCatalog")
                ?? throw new ArgumentException($"{catalog.GetType().Name} is not an ML.NET catalog (it does not implement IInternalCatalog).", nameof(catalog));
            var prop = iface.GetProperty("Environment")
                ?? throw new InvalidOperationException("ML.NET's IInternalCatalog no longer has an Environment property; this SetML needs Microsoft.ML " + ExpectedMLNetVersion + ".");
            return (IHostEnvironment)(prop.GetValue(catalog) ?? throw new InvalidOperationException("The catalog has no environment."));
        }

        /// <summary>
        /// The device settings of the MLContext behind <paramref name="env"/> (<c>MLContext.GpuDeviceId</c> and
        /// <c>MLContext.FallbackToCpu</c>, which ML.NET keeps on the internal <c>IHostEnvironmentInternal</c>; registered
        /// hosts carry their parent's values).
        /// </summary>
        public static SetML.Training.DeviceSettings GetDeviceSettings(IHostEnvironment env)
            => env is IHostEnvironmentInternal e ? new(e.GpuDeviceId, e.FallbackToCpu) : default;

        /// <summary>
        /// ML.NET's <c>CheckAlive</c>: throws <see cref="OperationCanceledException"/> once <c>MLContext.CancelExecution()</c>
        /// was called on the context behind <paramref name="env"/> (ML.NET cancels every host registered from it).
        /// </summary>
        public static void CheckAlive(IHostEnvironment env)
        {
            if (env is ICancelable { IsCanceled: true })
                throw new OperationCanceledException("Operation was cancelled: MLContext.CancelExecution() was called.");
        }

        /// <summary>
        /// For tests: the progress events ML.NET's progress tracker of <paramref name="env"/> holds (channel name, kind,
        /// metric values), as a tool reading ML.NET's progress would see them. Pulls pending progress first.
        /// </summary>
        public static IReadOnlyList<(string Channel, string Kind, double?[] Metrics, double?[] Progress)> ProgressEvents(IHostEnvironment env)
        {
            var field = FindField(env.GetType(), "ProgressTracker")
                ?? throw new InvalidOperationException("ML.NET's host environment no longer has a ProgressTracker; this SetML needs Microsoft.ML " + ExpectedMLNetVersion + ".");
            var tracker = (ProgressReporting.ProgressTracker)field.GetValue(env)!;
            return tracker.GetAllProgress().Select(e => (e.Name, e.Kind.ToString(), e.ProgressEntry?.Metrics?.ToArray() ?? Array.Empty<double?>(),
                e.ProgressEntry?.Progress?.ToArray() ?? Array.Empty<double?>())).ToList();
        }

        private static FieldInfo? FindField(Type? t, string name)
        {
            for (; t != null; t = t.BaseType)
                if (t.GetField(name, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic) is FieldInfo f) return f;
            return null;
        }

        /// <summary>The informational version of the loaded Microsoft.ML.Core (e.g. "5.0.1+abc").</summary>
        public static string LoadedMLNetVersion()
            => typeof(ModelSaveContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
               ?? typeof(ModelSaveContext).Assembly.GetName().Version?.ToString() ?? "unknown";
    }

    /// <summary>Writes one SetML model entry into an ML.NET model repository (wraps the internal ModelSaveContext API).</summary>
    internal sealed class SetMLModelWriter
    {
        private readonly ModelSaveContext _ctx;

        public SetMLModelWriter(ModelSaveContext ctx)
        {
            MLNetInternals.EnsureSupportedVersion();
            _ctx = ctx ?? throw new ArgumentNullException(nameof(ctx));
            _ctx.CheckAtModel();
        }

        /// <summary>Writes the ML.NET version header naming our loader signature and our simple assembly name.</summary>
        public void SetVersion(string modelSignature, uint verWrittenCur, uint verReadableCur, uint verWeCanReadBack, string loaderSignature, Type loaderType)
            => _ctx.SetVersionInfo(new VersionInfo(modelSignature, verWrittenCur, verReadableCur, verWeCanReadBack,
                loaderSignature: loaderSignature, loaderAssemblyName: loaderType.Assembly.GetName().Name));

        /// <summary>The binary writer of the model stream (scalars, strings).</summary>
        public BinaryWriter Writer => _ctx.Writer;

        /// <summary>Writes a named binary stream next to the model stream (used for weights).</summary>
        public void SaveBinaryStream(string name, Action<BinaryWriter> action) => _ctx.SaveBinaryStream(name, action);
    }

    /// <summary>Reads one SetML model entry from an ML.NET model repository (wraps the internal ModelLoadContext API).</summary>
    internal sealed class SetMLModelReader
    {
        private readonly ModelLoadContext _ctx;

        public SetMLModelReader(object ctx)
        {
            MLNetInternals.EnsureSupportedVersion();
            _ctx = (ModelLoadContext)ctx;
        }

        /// <summary>Checks the ML.NET header: signature and readable-version range. Throws a clear error otherwise.</summary>
        public void CheckVersion(string modelSignature, uint verWrittenCur, uint verReadableCur, uint verWeCanReadBack, string loaderSignature, Type loaderType)
        {
            _ctx.CheckAtModel();
            _ctx.CheckVersionInfo(new VersionInfo(modelSignature, verWrittenCur, verReadableCur, verWeCanReadBack,
                loaderSignature: loaderSignature, loaderAssemblyName: loaderType.Assembly.GetName().Name));
        }

        /// <summary>The binary reader positioned at the start of the model stream's payload.</summary>
        public BinaryReader Reader => _ctx.Reader;

        /// <summary>Reads a named binary stream; returns false if it does not exist.</summary>
        public bool TryLoadBinaryStream(string name, Action<BinaryReader> action) => _ctx.TryLoadBinaryStream(name, action);
    }

    /// <summary>
    /// The factories ML.NET's ComponentCatalog calls when a model .zip names one of SetML's loader signatures
    /// (registered by the [LoadableClass] attributes at the top of this file). They are the only code that sees ModelLoadContext.
    /// </summary>
    internal static class SetMLLoaders
    {
        private static SetML.Transforms.SetModelTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
            => SetML.Transforms.SetModelTransformer.Load(env, new SetMLModelReader(ctx));
    }

    /// <summary>Builds <see cref="SchemaShape.Column"/> values (its constructor is internal in ML.NET 5.0.1).</summary>
    internal static class SchemaShapes
    {
        public static SchemaShape.Column Column(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType, bool isKey, SchemaShape? annotations = null)
            => new SchemaShape.Column(name, kind, itemType, isKey, annotations);

        /// <summary>A vector-of-Single column (fixed size, or variable-length).</summary>
        public static SchemaShape.Column Vector(string name, bool variable = false)
            => Column(name, variable ? SchemaShape.Column.VectorKind.VariableVector : SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false);

        /// <summary>
        /// The <see cref="SchemaShape"/> form of a model output column — what an estimator's <c>GetOutputSchema</c> promises,
        /// derived from the same <see cref="SetML.Models.ModelOutputColumn"/> the fitted transformer's schema is built from
        /// (annotations: SetElementDimension of a set, SlotNames of a named vector; <paramref name="annotations"/> overrides).
        /// </summary>
        public static SchemaShape.Column Output(SetML.Models.ModelOutputColumn o, SchemaShape? annotations = null)
        {
            var (kind, type, isKey) = o.Kind switch
            {
                SetML.Models.ModelOutputKind.Single => (SchemaShape.Column.VectorKind.Scalar, (DataViewType)NumberDataViewType.Single, false),
                SetML.Models.ModelOutputKind.Boolean => (SchemaShape.Column.VectorKind.Scalar, BooleanDataViewType.Instance, false),
                SetML.Models.ModelOutputKind.Key => (SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true),
                SetML.Models.ModelOutputKind.Vector => (SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false),
                _ => (SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.Single, false),
            };
            annotations ??= o.Kind == SetML.Models.ModelOutputKind.Set
                ? Shape(new[] { Column(SetML.SetColumns.SetColumn.ElementDimensionAnnotation, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Int32, false) })
                : o.Kind == SetML.Models.ModelOutputKind.Vector && o.SlotNames != null ? SlotNames() : null;
            return Column(o.Name, kind, type, isKey, annotations);
        }

        /// <summary>The annotation shape of a vector with slot names.</summary>
        public static SchemaShape SlotNames() => Shape(new[] { Column("SlotNames", SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false) });

        /// <summary>
        /// An estimator's output schema: the input columns, then the model's output columns (replacing input columns of
        /// the same name), each from <see cref="Output"/> with the annotations <paramref name="annotations"/> gives (null = defaults).
        /// </summary>
        public static SchemaShape WithOutputs(SchemaShape input, IEnumerable<SetML.Models.ModelOutputColumn> outputs,
            Func<SetML.Models.ModelOutputColumn, SchemaShape?>? annotations = null)
        {
            var cols = input.ToDictionary(c => c.Name);
            foreach (var o in outputs) cols[o.Name] = Output(o, annotations?.Invoke(o));
            return Shape(cols.Values);
        }

        /// <summary>Turns a column list into a <see cref="SchemaShape"/>.</summary>
        public static SchemaShape Shape(IEnumerable<SchemaShape.Column> columns) => new SchemaShape(columns);

        /// <summary>The schema shape of a schema (ML.NET's SchemaShape.Create is internal).</summary>
        public static SchemaShape FromSchema(DataViewSchema schema) => SchemaShape.Create(schema);

        /// <summary>Finds a column of a schema shape by name (ML.NET's TryFindColumn is internal).</summary>
        public static bool TryFindColumn(SchemaShape shape, string name, out SchemaShape.Column column) => shape.TryFindColumn(name, out column);

        /// <summary>Whether <paramref name="actual"/> can be used where <paramref name="expected"/> is asked for.</summary>
        public static bool IsCompatibleWith(SchemaShape.Column expected, SchemaShape.Column actual) => expected.IsCompatibleWith(actual);
    }
}
