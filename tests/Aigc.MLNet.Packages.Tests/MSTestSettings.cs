// Each test restores and builds console apps with the dotnet CLI: on 2 cores, running them side by side only slows both.
[assembly: DoNotParallelize]
