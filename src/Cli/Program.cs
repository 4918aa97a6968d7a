using Aigc.MLNet.Cli;

return await AigcApp.RunAsync(args);
