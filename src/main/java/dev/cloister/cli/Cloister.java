package dev.cloister.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code cloister} command. Client commands talk to a running service over HTTP; {@code verify} works offline.
 * Exit codes: 0 success / verified, 1 failed / not verified, 2 usage error.
 */
@Command(name = "cloister", mixinStandardHelpOptions = true, version = "cloister 0.1.0",
        description = "Security-hardened training host: submit jobs, follow them, verify what they produced.",
        subcommands = {LoginCommand.class, TokenCommand.class, SubmitCommand.class, ReproduceCommand.class,
                ImageBuildCommand.Group.class, StatusCommand.class, LogsCommand.class, CancelCommand.class,
                VerifyCommand.class, KeysCommand.class, ImageCommands.Deploy.class, ServeCommand.class,
                DatasetCommand.class, PolicyCommand.class, AuditCommand.class, FederateCommand.class,
                FederationCommand.class, CommandLine.HelpCommand.class})
public final class Cloister implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (usage errors are 2). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Cloister());
        cli.setExitCodeExceptionMapper(e -> e instanceof ApiClient.ApiException ? 1 : 2);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("cloister: " + e.getMessage());
            return e instanceof ApiClient.ApiException api ? api.exitCode() : 1;
        });
        return cli.execute(args);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command (see cloister help)");
    }
}
