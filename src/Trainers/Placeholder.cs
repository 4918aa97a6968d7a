namespace Aigc.MLNet.Trainers;

/// <summary>Placeholder.</summary>
public static class Placeholder { }
