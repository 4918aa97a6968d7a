using System.Runtime.InteropServices;

namespace Aigc.MLNet.Trainers.Native;

/// <summary>
/// Makes libtorch's OpenMP worker threads sleep instead of spin when they wait, unless the user chose otherwise.
/// </summary>
/// <remarks>
/// libtorch's CPU kernels run on GNU OpenMP (libgomp, shipped in the libtorch package). By default a waiting libgomp
/// thread spins for about 300,000 iterations before it sleeps. Training steps are thousands of short parallel regions,
/// so when another process holds one of the cores, the thread that is still running spins at every barrier while its
/// partner is descheduled, and a step can take an order of magnitude longer (measured in docs/BENCHMARKS.md,
/// "training on a busy machine"). <c>OMP_WAIT_POLICY=PASSIVE</c> makes waiting threads yield the core at once.
/// libgomp reads its environment once, when it is loaded, so this runs before TorchSharp's first native call (from
/// <see cref="TorchRuntime"/>'s module initializer). A user's own <c>OMP_WAIT_POLICY</c> or <c>GOMP_SPINCOUNT</c> is left
/// alone (set <c>GOMP_SPINCOUNT=300000</c> for libgomp's default behaviour). Results do not depend on the wait policy:
/// for a given thread count every kernel computes the same values.
/// </remarks>
public static class OpenMpWaitPolicy
{
    /// <summary>The environment variable libgomp reads for its wait policy.</summary>
    public const string WaitPolicyVariable = "OMP_WAIT_POLICY";

    /// <summary>libgomp's spin-count variable; when set, the library leaves the wait policy to it.</summary>
    public const string SpinCountVariable = "GOMP_SPINCOUNT";

    /// <summary>The policy this library sets when neither variable is set.</summary>
    public const string DefaultPolicy = "PASSIVE";

    /// <summary>The policy in effect for this process as far as libgomp will see it: the variable's value, or null when libgomp's own default applies.</summary>
    public static string? Effective => Environment.GetEnvironmentVariable(WaitPolicyVariable);

    /// <summary>
    /// Sets <c>OMP_WAIT_POLICY=PASSIVE</c> in the native environment when neither it nor <c>GOMP_SPINCOUNT</c> is set.
    /// Has an effect only before libgomp is loaded (the first TorchSharp call); returns whether it set the variable.
    /// </summary>
    public static bool Apply()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return false;
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(WaitPolicyVariable)) ||
            !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(SpinCountVariable))) return false;
        // .NET keeps its own copy of the environment on Unix: native libraries only see what setenv writes.
        if (SetEnv(WaitPolicyVariable, DefaultPolicy, 0) != 0) return false;
        Environment.SetEnvironmentVariable(WaitPolicyVariable, DefaultPolicy);
        return true;
    }

    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int SetEnv(string name, string value, int overwrite);
}
