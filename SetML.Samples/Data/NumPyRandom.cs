namespace SetML.Samples.Data;

/// <summary>
/// A bit-exact port of the parts of NumPy's <c>np.random.default_rng(seed)</c> that the PyTorch point-set reference
/// (<c>../shared/bench/pointsets_reference.py</c>) uses, so SetML trains on exactly the same sets: <c>SeedSequence</c>
/// seeding, the PCG64 bit generator (128-bit LCG, XSL-RR output; NumPy's <c>pcg64.h</c>), Lemire's bounded integers on
/// the buffered 32-bit stream (<c>random_bounded_uint64</c>, <c>distributions.c</c>), and
/// <c>Generator.choice(n, k, replace=False)</c> for n ≤ 10,000: Floyd's algorithm followed by a Fisher–Yates shuffle of
/// the k chosen indices (<c>_generator.pyx</c>).
/// </summary>
public sealed class NumPyRandom
{
    private static readonly UInt128 Multiplier = new(2549297995355413924UL, 4865540595714422341UL);
    private UInt128 _state, _increment;
    private bool _hasUInt32;
    private uint _uinteger;

    /// <summary>The generator of <c>np.random.default_rng(seed)</c> (PCG64 seeded through <c>SeedSequence(seed)</c>).</summary>
    public NumPyRandom(ulong seed)
    {
        var words = SeedSequenceState(seed, 8);
        ulong W(int i) => words[2 * i] | (ulong)words[2 * i + 1] << 32; // uint32 pairs viewed as little-endian uint64
        // pcg64_set_seed: PCG_128BIT_CONSTANT(high, low) from val[0], val[1] (state) and val[2], val[3] (stream).
        var initState = new UInt128(W(0), W(1));
        var initSeq = new UInt128(W(2), W(3));
        _state = 0;
        _increment = (initSeq << 1) | 1;
        Step();
        _state += initState;
        Step();
    }

    private void Step() => _state = unchecked(_state * Multiplier + _increment);

    /// <summary>The next 64 random bits (<c>pcg64_next64</c>).</summary>
    public ulong NextUInt64()
    {
        Step();
        ulong value = (ulong)(_state >> 64) ^ (ulong)_state;
        int rot = (int)(_state >> 122);
        return ulong.RotateRight(value, rot);
    }

    /// <summary>The next 32 random bits (<c>pcg64_next32</c>: the two halves of a 64-bit draw, low half first).</summary>
    public uint NextUInt32()
    {
        if (_hasUInt32) { _hasUInt32 = false; return _uinteger; }
        ulong next = NextUInt64();
        _hasUInt32 = true;
        _uinteger = (uint)(next >> 32);
        return (uint)next;
    }

    /// <summary><c>Generator.random()</c>: a double in [0, 1) from the top 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / 9007199254740992.0);

    /// <summary>A uniform integer in [0, <paramref name="max"/>] (<c>random_bounded_uint64(…, 0, max, 0, use_masked=false)</c>).</summary>
    public ulong NextBounded(ulong max)
    {
        if (max == 0) return 0;
        if (max <= uint.MaxValue)
        {
            if (max == uint.MaxValue) return NextUInt32();
            uint rngExcl = (uint)max + 1; // Lemire's method on 32-bit draws
            ulong m = (ulong)NextUInt32() * rngExcl;
            uint leftover = (uint)m;
            if (leftover < rngExcl)
            {
                uint threshold = (uint.MaxValue - (uint)max) % rngExcl;
                while (leftover < threshold) { m = (ulong)NextUInt32() * rngExcl; leftover = (uint)m; }
            }
            return m >> 32;
        }
        if (max == ulong.MaxValue) return NextUInt64();
        ulong excl = max + 1; // Lemire's method on 64-bit draws
        UInt128 mm = (UInt128)NextUInt64() * excl;
        ulong left = (ulong)mm;
        if (left < excl)
        {
            ulong threshold = (ulong.MaxValue - max) % excl;
            while (left < threshold) { mm = (UInt128)NextUInt64() * excl; left = (ulong)mm; }
        }
        return (ulong)(mm >> 64);
    }

    /// <summary>
    /// <c>Generator.choice(populationSize, size, replace=False)</c> (shuffle=True) for populations up to 10,000: the chosen
    /// indices in NumPy's order.
    /// </summary>
    public long[] ChooseWithoutReplacement(int populationSize, int size)
    {
        if (size < 0 || size > populationSize) throw new ArgumentOutOfRangeException(nameof(size), size, $"size must be in 0..{populationSize}.");
        if (populationSize > 10000) throw new NotSupportedException("Only NumPy's Floyd branch (populations ≤ 10,000) is ported.");
        var idx = new long[size];
        var chosen = new HashSet<long>();
        for (long j = populationSize - size; j < populationSize; j++)
        {
            long val = (long)NextBounded((ulong)j);
            long pick = chosen.Add(val) ? val : j;
            if (pick == j) chosen.Add(j);
            idx[j - populationSize + size] = pick;
        }
        for (int i = size - 1; i >= 1; i--) // _shuffle_int(size, 1, idx)
        {
            long k = (long)NextBounded((ulong)i);
            (idx[k], idx[i]) = (idx[i], idx[k]);
        }
        return idx;
    }

    // numpy/random/bit_generator.pyx: SeedSequence(entropy).generate_state(n_words, uint32), pool size 4.
    private static uint[] SeedSequenceState(ulong entropy, int nWords)
    {
        const uint InitA = 0x43b0d7e5, MultA = 0x931e8875, InitB = 0x8b51f9dd, MultB = 0x58f38ded, MixMultL = 0xca01f9dd, MixMultR = 0x4973f715;
        const int XShift = 16, PoolSize = 4;
        var entropyWords = new List<uint>();
        if (entropy == 0) entropyWords.Add(0);
        for (ulong e = entropy; e > 0; e >>= 32) entropyWords.Add((uint)e);
        uint hashConst = InitA;
        uint HashMix(uint value)
        {
            unchecked
            {
                value ^= hashConst;
                hashConst *= MultA;
                value *= hashConst;
                value ^= value >> XShift;
                return value;
            }
        }
        static uint Mix(uint x, uint y)
        {
            unchecked
            {
                uint r = MixMultL * x - MixMultR * y;
                return r ^ (r >> XShift);
            }
        }
        var pool = new uint[PoolSize];
        for (int i = 0; i < PoolSize; i++) pool[i] = HashMix(i < entropyWords.Count ? entropyWords[i] : 0);
        for (int src = 0; src < PoolSize; src++)
            for (int dst = 0; dst < PoolSize; dst++)
                if (src != dst) pool[dst] = Mix(pool[dst], HashMix(pool[src]));
        for (int src = PoolSize; src < entropyWords.Count; src++)
            for (int dst = 0; dst < PoolSize; dst++) pool[dst] = Mix(pool[dst], HashMix(entropyWords[src]));
        var state = new uint[nWords];
        uint hb = InitB;
        for (int i = 0; i < nWords; i++)
        {
            unchecked
            {
                uint v = pool[i % PoolSize];
                v ^= hb;
                hb *= MultB;
                v *= hb;
                v ^= v >> XShift;
                state[i] = v;
            }
        }
        return state;
    }
}
