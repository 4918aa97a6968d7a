namespace Aigc.MLNet.Transforms.Evaluation.Images;

/// <summary>Eigendecomposition of a real symmetric matrix by cyclic Jacobi rotations (accurate; O(n³) per sweep).</summary>
public static class SymmetricEigen
{
    /// <summary>Decomposes A = V diag(values) Vᵀ.</summary>
    /// <param name="matrix">Symmetric n×n matrix, row-major (not modified).</param>
    /// <param name="n">Dimension.</param>
    /// <returns>Eigenvalues (unsorted) and eigenvectors as the columns of a row-major n×n matrix.</returns>
    public static (double[] Values, double[] Vectors) Decompose(ReadOnlySpan<double> matrix, int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (matrix.Length != n * n)
            throw new ArgumentException($"Expected a {n}x{n} matrix ({n * n} values), got {matrix.Length} values.", nameof(matrix));
        var a = matrix.ToArray();
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                double m = 0.5 * (a[i * n + j] + a[j * n + i]);
                a[i * n + j] = a[j * n + i] = m;
            }
        var v = new double[n * n];
        for (int i = 0; i < n; i++)
            v[i * n + i] = 1;

        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, diag = 0;
            for (int i = 0; i < n; i++)
            {
                diag += a[i * n + i] * a[i * n + i];
                for (int j = i + 1; j < n; j++)
                    off += a[i * n + j] * a[i * n + j];
            }
            if (off <= 1e-30 * Math.Max(diag, double.Epsilon) || off == 0)
                break;
            for (int p = 0; p < n - 1; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    double apq = a[p * n + q];
                    if (apq == 0)
                        continue;
                    double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                    double t = Math.Sign(theta) == 0 ? 1.0 : Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    // A ← Jᵀ A J with J the rotation in the (p, q) plane; columns first, then rows.
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[k * n + p], akq = a[k * n + q];
                        a[k * n + p] = c * akp - s * akq;
                        a[k * n + q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[p * n + k], aqk = a[q * n + k];
                        a[p * n + k] = c * apk - s * aqk;
                        a[q * n + k] = s * apk + c * aqk;
                    }
                    a[p * n + q] = a[q * n + p] = 0;
                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k * n + p], vkq = v[k * n + q];
                        v[k * n + p] = c * vkp - s * vkq;
                        v[k * n + q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        var values = new double[n];
        for (int i = 0; i < n; i++)
            values[i] = a[i * n + i];
        return (values, v);
    }

    /// <summary>Square root of a symmetric positive semi-definite matrix (negative eigenvalues from rounding are clamped to 0).</summary>
    /// <param name="matrix">Symmetric n×n matrix, row-major.</param>
    /// <param name="n">Dimension.</param>
    public static double[] SquareRoot(ReadOnlySpan<double> matrix, int n)
    {
        var (values, vectors) = Decompose(matrix, n);
        var root = new double[n * n];
        for (int k = 0; k < n; k++)
        {
            double s = Math.Sqrt(Math.Max(values[k], 0));
            if (s == 0)
                continue;
            for (int i = 0; i < n; i++)
            {
                double vik = vectors[i * n + k] * s;
                for (int j = 0; j < n; j++)
                    root[i * n + j] += vik * vectors[j * n + k];
            }
        }
        return root;
    }
}
