package dev.steer.cli;

import dev.steer.engine.BadInputException;
import dev.steer.engine.JsonErrorText;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;

/**
 * {@code steer}: the command line. Exit codes are mapped here and only here: 0 ok, 2 bad input (one line on
 * stderr naming the file, flag or value), 1 internal error.
 */
@Command(name = "steer", mixinStandardHelpOptions = true, versionProvider = Steer.Version.class,
        description = "Activation steering for Gemma-2: generate with coef x v added to a residual layer, "
                + "measure activation norms live, and test the perturbation-ratio law.",
        subcommands = {InfoCommand.class, NormsCommand.class, GenerateCommand.class, ExtractCommand.class, RatioCommand.class,
                SweepCommand.class, SearchCommand.class, ReportCommand.class,
                StudyCommand.class, MergeCommand.class, ExportCommand.class, BenchCommand.class, ServeCommand.class, VectorCommand.class,
                CommandLine.HelpCommand.class})
public final class Steer implements Runnable {
    public static final int OK = 0;
    public static final int INTERNAL = 1;
    public static final int BAD_INPUT = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required (try: steer --help)");
    }

    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Every command's -V/--version names the build, not only the top level's, nested ones ({@code vector info}) too. */
    private static void setVersion(java.util.Collection<CommandLine> commands) {
        for (CommandLine sub : commands) {
            sub.getCommandSpec().versionProvider(new Version());
            setVersion(sub.getSubcommands().values());
        }
    }

    /** Runs a command line, writing to {@code out}/{@code err}; returns the exit code (used by tests too). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Steer());
        setVersion(cl.getSubcommands().values());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("steer: " + oneLine(parameterMessage(ex, a)));
            return BAD_INPUT;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            Throwable root = badInput(ex);
            if (root != null) {
                err.println("steer: " + oneLine(root.getMessage()));
                return BAD_INPUT;
            }
            err.println("steer: internal error: " + oneLine(String.valueOf(ex)));
            if (System.getenv("STEER_DEBUG") != null) ex.printStackTrace(err);
            else err.println("steer: set STEER_DEBUG=1 for the stack trace");
            return INTERNAL;
        });
        int code = cl.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /**
     * A flag the command line got wrong, in words: a {@link BadInputException}'s own message (it names the flag), a
     * converter's ({@link LowerCaseEnum}: "'x' is not one of a, b") after the flag as typed, else picocli's.
     */
    private static String parameterMessage(CommandLine.ParameterException ex, String[] args) {
        Throwable bad = badInput(ex);
        if (bad != null) return bad.getMessage();
        if (ex.getCause() instanceof CommandLine.TypeConversionException t && ex.getArgSpec() instanceof CommandLine.Model.OptionSpec o)
            return typedName(o, ex.getValue(), args) + ": " + t.getMessage();
        return ex.getMessage();
    }

    /** The name the command line used for {@code o} with {@code value} ({@code --position} or {@code --pooling}). */
    private static String typedName(CommandLine.Model.OptionSpec o, String value, String[] args) {
        for (int i = 0; i < args.length; i++)
            for (String n : o.names())
                if (args[i].equals(n + "=" + value) || args[i].equals(n) && i + 1 < args.length && args[i + 1].equals(value)) return n;
        return o.longestName();
    }

    /**
     * The bad input behind {@code t}: a {@link BadInputException}, else a file this user may not read or write
     * ({@link AccessDeniedException}, wherever it was raised: a vector file, a prompt file, an output), in words.
     */
    private static Throwable badInput(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) if (c instanceof BadInputException) return c;
        for (Throwable c = t; c != null; c = c.getCause())
            if (c instanceof AccessDeniedException a)
                return new BadInputException((a.getFile() != null ? a.getFile() : "a file") + ": permission denied"
                        + (a.getReason() != null ? " (" + a.getReason() + ")" : ""), a);
        return null;
    }

    /** One line, and never gson's advice to the programmer, whichever message carried it up here. */
    private static String oneLine(String s) {
        return s == null ? "" : JsonErrorText.clean(s.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim());
    }

    /**
     * {@code steer -V}: the version and the commit the build was made from, read from the {@code git.properties} the
     * build writes (cli/pom.xml, git at generate-resources); without it (a build outside a git checkout: a source tarball) the
     * jar manifest's version and "commit unknown".
     */
    static final class Version implements CommandLine.IVersionProvider {
        static final String GIT_PROPERTIES = "git.properties";

        @Override
        public String[] getVersion() {
            java.util.Properties git = gitProperties();
            String v = git.getProperty("git.build.version", Steer.class.getPackage().getImplementationVersion());
            return new String[] {"steer " + (v == null ? "dev" : v) + " (" + commit(git) + ")"};
        }

        /** "commit 1a2b3c4d5e6f (2026-12-01T23:00:00Z)", "+dirty" when the tree had changes; or "commit unknown". */
        static String commit(java.util.Properties git) {
            String id = git.getProperty("git.commit.id.abbrev", "").strip();
            if (id.isEmpty()) return "commit unknown";
            String dirty = Boolean.parseBoolean(git.getProperty("git.dirty")) ? "+dirty" : "";
            String time = git.getProperty("git.commit.time", "").strip();
            return "commit " + id + dirty + (time.isEmpty() ? "" : " of " + time);
        }

        static java.util.Properties gitProperties() {
            java.util.Properties p = new java.util.Properties();
            try (java.io.InputStream in = Steer.class.getResourceAsStream(GIT_PROPERTIES)) {
                if (in != null) p.load(in);
            } catch (java.io.IOException e) {
                // An unreadable resource is the same as none: the version line says the commit is unknown.
            }
            return p;
        }
    }
}
