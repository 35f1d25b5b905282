package dev.steer.engine.store;

import dev.steer.engine.BadInputException;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The one way steer opens its SQLite files (the runs database and the judge cache), so several processes can share
 * one: WAL journal (readers never block the writer), {@code synchronous=FULL}, foreign keys on, one busy timeout,
 * and write transactions that begin IMMEDIATE (the write lock is taken when a transaction starts, so a second
 * writer waits there instead of failing half-way when it upgrades from reading). It also turns SQLite's failures
 * into messages that say the cause (a full disk, a read-only file, a lock held too long).
 */
public final class SqliteFile {
    /** How long a writer waits for another process's write transaction before giving up. */
    public static final int BUSY_TIMEOUT_MS = 30_000;

    private SqliteFile() {
    }

    /**
     * A read-write connection to {@code file} (created if absent), in WAL mode. The first statement reads the
     * header, so a file that is not a database fails here.
     *
     * @throws SQLException as SQLite reports it; callers name the file
     */
    public static Connection openReadWrite(Path file) throws SQLException {
        SQLiteConfig config = new SQLiteConfig();
        config.setBusyTimeout(BUSY_TIMEOUT_MS);
        config.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
        config.enforceForeignKeys(true);
        Connection c = config.createConnection("jdbc:sqlite:" + file.toAbsolutePath());
        try (Statement st = c.createStatement()) {
            toWal(st);
            st.execute("PRAGMA synchronous=FULL");
            return c;
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /**
     * Puts the file in WAL mode. Switching a new file's journal to WAL takes an exclusive lock for which SQLite does
     * not call the busy handler: when two processes open one new file at once, one of them got SQLITE_BUSY at once
     * (81 of 500 tries of two threads). So a busy answer is retried here, a few milliseconds apart, for up to
     * {@link #BUSY_TIMEOUT_MS} as any other wait for a lock.
     */
    private static void toWal(Statement st) throws SQLException {
        long deadline = System.nanoTime() + BUSY_TIMEOUT_MS * 1_000_000L;
        for (int attempt = 0; ; attempt++) {
            try {
                st.execute("PRAGMA journal_mode=WAL");
                return;
            } catch (SQLException e) {
                if (!isBusy(e) || System.nanoTime() > deadline) throw e;
            }
            try {
                Thread.sleep(Math.min(50, 1 + attempt));
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new SQLException("interrupted while waiting for the database lock", ie);
            }
        }
    }

    private static boolean isBusy(SQLException e) {
        return primaryCode(e) == SQLiteErrorCode.SQLITE_BUSY.code;
    }

    /** SQLite's primary result code of {@code e} (the low byte of an extended code). */
    private static int primaryCode(SQLException e) {
        SQLiteErrorCode code = e instanceof SQLiteException s ? s.getResultCode() : null;
        return code == null ? e.getErrorCode() & 0xff : code.code & 0xff;
    }

    /**
     * A read-only connection: for commands that only read ({@code report}, {@code export}), so they work on a file
     * the user may not write. The journal mode is left as the file has it. A WAL database needs its shared-memory
     * file ({@code -shm}) even to be read; where that cannot be created (a directory the user may not write) and no
     * write-ahead log is pending ({@code -wal} absent or empty: every write is checkpointed into the file), the file
     * is opened immutable, which reads it without one.
     */
    public static Connection openReadOnly(Path file) throws SQLException {
        Path abs = file.toAbsolutePath();
        try {
            return readOnly("jdbc:sqlite:" + abs);
        } catch (SQLException e) {
            Path wal = abs.resolveSibling(abs.getFileName() + "-wal");
            boolean pendingLog;
            try {
                pendingLog = java.nio.file.Files.exists(wal) && java.nio.file.Files.size(wal) > 0;
            } catch (java.io.IOException io) {
                pendingLog = true;
            }
            if (pendingLog) throw e;
            return readOnly("jdbc:sqlite:" + abs.toUri() + "?immutable=1");
        }
    }

    private static Connection readOnly(String url) throws SQLException {
        SQLiteConfig config = new SQLiteConfig();
        config.setBusyTimeout(BUSY_TIMEOUT_MS);
        config.setReadOnly(true);
        Connection c = config.createConnection(url);
        try (Statement st = c.createStatement()) {
            st.execute("SELECT count(*) FROM sqlite_schema");
            return c;
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /**
     * The failure of {@code what} on {@code file}, in words. A full disk (or a database at its page limit) and a file
     * that cannot be written are the user's to fix: {@link BadInputException} (exit 2), saying that what was
     * committed before is kept (every write is one transaction, rolled back whole). Anything else is
     * {@link StoreException} (exit 1).
     */
    public static RuntimeException failure(Path file, String what, SQLException e) {
        int primary = primaryCode(e);
        if (primary == SQLiteErrorCode.SQLITE_FULL.code)
            return new BadInputException(file + ": " + what + " failed: the disk or the database is full; "
                    + "nothing of this write was kept, everything stored before it is intact", e);
        if (primary == SQLiteErrorCode.SQLITE_READONLY.code)
            return new BadInputException(file + ": " + what + " failed: the database file is read-only", e);
        if (primary == SQLiteErrorCode.SQLITE_BUSY.code)
            return new StoreException(file + ": " + what + " failed: another process held the database locked for more than "
                    + BUSY_TIMEOUT_MS / 1000 + " s", e);
        return new StoreException(file + ": " + what + " failed: " + firstLine(e.getMessage()), e);
    }

    /**
     * Rolls back the failed transaction and returns the connection to autocommit, keeping {@code cause} as THE failure.
     * After some errors (SQLITE_FULL among them) SQLite has already rolled the transaction back itself, so the
     * driver's ROLLBACK, and the COMMIT it runs when autocommit is switched back on, fail with "no transaction is
     * active"; that message once replaced the cause ("cannot commit" for a full disk). Those failures are only
     * attached to it, suppressed.
     */
    public static void rollback(Connection c, Throwable cause) {
        try {
            if (!c.getAutoCommit()) c.rollback();
        } catch (SQLException r) {
            cause.addSuppressed(r);
        }
        try {
            c.setAutoCommit(true);
        } catch (SQLException r) {
            cause.addSuppressed(r);   // the driver has switched autocommit on all the same
        }
    }

    static String firstLine(String s) {
        if (s == null) return "unknown SQLite error";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
