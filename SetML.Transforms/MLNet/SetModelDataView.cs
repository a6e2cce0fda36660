using Microsoft.ML;
using Microsoft.ML.Data;
using SetML.Models;

namespace SetML.Transforms;

/// <summary>
/// Reads a model's input columns from a row and hands out typed getters for its output columns. Shared by the
/// batched cursor of <see cref="SetModelDataView"/> and the single-row <see cref="SetModelRowMapper"/>.
/// </summary>
internal sealed class ModelRowReader
{
    private readonly ValueGetter<VBuffer<float>>[] _getters;
    private VBuffer<float> _buffer;

    public ModelRowReader(SetModelTransformer t, DataViewRow row)
    {
        _getters = t.Spec.Inputs.Select(i => row.GetGetter<VBuffer<float>>(row.Schema[i.ColumnName])).ToArray();
    }

    /// <summary>Reads input <paramref name="i"/> of the current row as a dense array.</summary>
    public float[] Read(int i)
    {
        float[]? a = null;
        ReadInto(i, ref a);
        return a;
    }

    /// <summary>Reads input <paramref name="i"/> of the current row into <paramref name="a"/>, a new array only when its length differs.</summary>
    public void ReadInto(int i, [System.Diagnostics.CodeAnalysis.NotNull] ref float[]? a)
    {
        _getters[i](ref _buffer);
        if (a == null || a.Length != _buffer.Length) a = new float[_buffer.Length];
        _buffer.CopyTo(a);
    }

    /// <summary>Input columns the model reads.</summary>
    public static IEnumerable<DataViewSchema.Column> InputColumns(SetModelTransformer t, DataViewSchema schema)
        => t.Spec.Inputs.Select(i => schema[i.ColumnName]);

    /// <summary>A getter for output <paramref name="k"/> that reads element <paramref name="index"/>() of the current batch.</summary>
    public static Delegate OutputGetter(ModelOutputColumn o, int k, Func<Array[]> batch, Func<int> index) => o.Kind switch
    {
        ModelOutputKind.Single => (ValueGetter<float>)((ref float v) => v = ((float[])batch()[k])[index()]),
        ModelOutputKind.Boolean => (ValueGetter<bool>)((ref bool v) => v = ((bool[])batch()[k])[index()]),
        ModelOutputKind.Key => (ValueGetter<uint>)((ref uint v) => v = ((uint[])batch()[k])[index()]),
        _ => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) =>
        {
            var src = ((float[][])batch()[k])[index()];
            var editor = VBufferEditor.Create(ref v, src.Length);
            src.CopyTo(editor.Values);
            v = editor.Commit();
        }),
    };

    public static ValueGetter<TValue> Cast<TValue>(Delegate d, DataViewSchema.Column column)
        => d as ValueGetter<TValue> ?? throw new InvalidOperationException(
            $"Invalid TValue in GetGetter for column '{column.Name}': expected {d.GetType().GetGenericArguments()[0].Name}, got {typeof(TValue).Name}.");
}

/// <summary>The lazy output of <see cref="SetModelTransformer.Transform"/>.</summary>
internal sealed class SetModelDataView : IDataView
{
    private readonly SetModelTransformer _t;
    private readonly IDataView _source;

    public SetModelDataView(SetModelTransformer t, IDataView source, DataViewSchema schema)
    {
        _t = t; _source = source; Schema = schema;
    }

    public bool CanShuffle => false;
    public DataViewSchema Schema { get; }
    public long? GetRowCount() => _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        => new Cursor(this, columnsNeeded);

    // One cursor: the model runs batches, which a set of parallel cursors would only fragment.
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => new[] { GetRowCursor(columnsNeeded, rand) };

    /// <summary>
    /// Moves a passthrough cursor over the source in lockstep with a lookahead cursor that reads the model's input
    /// columns a batch ahead, so the network runs once per <see cref="SetModelTransformer.PredictionBatchSize"/> rows.
    /// </summary>
    private sealed class Cursor : DataViewRowCursor
    {
        private readonly SetModelDataView _view;
        private readonly DataViewRowCursor _main;
        private readonly DataViewRowCursor? _ahead;
        private readonly ModelRowReader? _reader;
        private readonly bool[] _active;
        private readonly int _inputCount;
        private Array[] _batch = Array.Empty<Array>();
        private long _batchStart, _batchCount;
        private long _aheadPosition = -1;

        public Cursor(SetModelDataView view, IEnumerable<DataViewSchema.Column> columnsNeeded)
        {
            _view = view;
            _inputCount = view._source.Schema.Count;
            _active = new bool[view.Schema.Count];
            foreach (var c in columnsNeeded) _active[c.Index] = true;
            var sourceNeeded = view._source.Schema.Where(c => _active[c.Index]);
            _main = view._source.GetRowCursor(sourceNeeded);
            if (_active.Skip(_inputCount).Any(a => a))
            {
                _ahead = view._source.GetRowCursor(ModelRowReader.InputColumns(view._t, view._source.Schema));
                _reader = new ModelRowReader(view._t, _ahead);
            }
        }

        public override DataViewSchema Schema => _view.Schema;
        public override long Position => _main.Position;
        public override long Batch => _main.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => _main.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override bool MoveNext()
        {
            if (!_main.MoveNext()) return false;
            if (_ahead != null && _main.Position >= _batchStart + _batchCount) FillBatch();
            return true;
        }

        private void FillBatch()
        {
            var t = _view._t;
            int inputs = t.Spec.Inputs.Count;
            var rows = Enumerable.Range(0, inputs).Select(_ => new List<float[]>(t.PredictionBatchSize)).ToArray();
            long start = _aheadPosition + 1;
            while (rows[0].Count < t.PredictionBatchSize && _ahead!.MoveNext())
            {
                _aheadPosition = _ahead.Position;
                for (int i = 0; i < inputs; i++) rows[i].Add(_reader!.Read(i));
            }
            _batchStart = start;
            _batchCount = rows[0].Count;
            _batch = t.PredictRows(rows, start);
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_active[column.Index]) throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            if (column.Index < _inputCount) return _main.GetGetter<TValue>(_view._source.Schema[column.Index]);
            int k = column.Index - _inputCount;
            var d = ModelRowReader.OutputGetter(_view._t.Outputs[k], k, () => _batch, () => (int)(_main.Position - _batchStart));
            return ModelRowReader.Cast<TValue>(d, column);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) { _main.Dispose(); _ahead?.Dispose(); }
            base.Dispose(disposing);
        }
    }
}

/// <summary>Single-row mapping for PredictionEngine and composed ML.NET mappers.</summary>
internal sealed class SetModelRowMapper : IRowToRowMapper
{
    private readonly SetModelTransformer _t;

    public SetModelRowMapper(SetModelTransformer t, DataViewSchema input, DataViewSchema output)
    {
        _t = t; InputSchema = input; OutputSchema = output;
    }

    public DataViewSchema InputSchema { get; }
    public DataViewSchema OutputSchema { get; }

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var cols = dependingColumns.ToList();
        var needed = cols.Where(c => c.Index < InputSchema.Count).Select(c => InputSchema[c.Index]).ToList();
        if (cols.Any(c => c.Index >= InputSchema.Count))
            needed.AddRange(ModelRowReader.InputColumns(_t, InputSchema));
        return needed.DistinctBy(c => c.Index).ToList();
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
        => new Row(this, input, activeColumns);

    private sealed class Row : DataViewRow
    {
        private readonly SetModelRowMapper _m;
        private readonly DataViewRow _input;
        private readonly bool[] _active;
        private readonly ModelRowReader? _reader;
        private Array[] _outputs = Array.Empty<Array>();
        private long _computedAt = -1;

        public Row(SetModelRowMapper m, DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
        {
            _m = m; _input = input;
            _active = new bool[m.OutputSchema.Count];
            foreach (var c in activeColumns) _active[c.Index] = true;
            if (_active.Skip(m.InputSchema.Count).Any(a => a)) _reader = new ModelRowReader(m._t, input);
        }

        public override DataViewSchema Schema => _m.OutputSchema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        // Several output getters (Score, Probability, ...) are usually called for one row: the forward pass is
        // cached, keyed on the row's position AND its input values (a PredictionEngine may reuse positions).
        // The inputs are read into arrays reused from row to row (a new one only when a set's length changes): the
        // values of the last forward pass, and this call's.
        private float[]?[] _cachedInputs = Array.Empty<float[]?>(), _readInputs = Array.Empty<float[]?>();
        private bool _cached;
        // One single-row list per input, handed to PredictRows.
        private float[][][] _rows = Array.Empty<float[][]>();

        private Array[] Current()
        {
            int count = _m._t.Spec.Inputs.Count;
            if (_rows.Length != count)
            {
                _cachedInputs = new float[count][];
                _readInputs = new float[count][];
                _rows = new float[count][][];
                for (int i = 0; i < count; i++) _rows[i] = new float[1][];
            }
            bool same = _cached && _computedAt == _input.Position;
            for (int i = 0; i < count; i++)
            {
                _reader!.ReadInto(i, ref _readInputs[i]);
                same = same && _readInputs[i].AsSpan().SequenceEqual(_cachedInputs[i]);
            }
            if (!same)
            {
                // What was just read becomes the cache; the old cache's arrays are read into next time.
                (_cachedInputs, _readInputs) = (_readInputs, _cachedInputs);
                _cached = false;
                for (int i = 0; i < count; i++) _rows[i][0] = _cachedInputs[i]!;
                _outputs = _m._t.PredictRows(_rows, Math.Max(0, _input.Position));
                _computedAt = _input.Position;
                _cached = true;
            }
            return _outputs;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < _m.InputSchema.Count) return _input.GetGetter<TValue>(_m.InputSchema[column.Index]);
            if (!_active[column.Index]) throw new InvalidOperationException($"Column '{column.Name}' is not active in this row.");
            int k = column.Index - _m.InputSchema.Count;
            return ModelRowReader.Cast<TValue>(ModelRowReader.OutputGetter(_m._t.Outputs[k], k, Current, () => 0), column);
        }
    }
}
