import * as cp from 'node:child_process';
import * as vscode from 'vscode';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { MessageConnection } from 'vscode-jsonrpc';
import * as P from '@keypoints/core/protocol';
import type { TrainingEvent } from '@keypoints/core';
import { readSettings, resolvePath } from './config';
import { errorMessage, statusText, withBackend } from './format';
import type { TrainerState } from './format';
import { RestartPolicy, watchLiveness } from './restart';

/**
 * The trainer server's lifecycle, like a language client: start `keypoints serve --stdio` with the
 * editor's own Node (ELECTRON_RUN_AS_NODE), fail start-up if it exits before answering
 * `initialize`, pipe its stderr into the log, restart it when it exits or stops answering (a few
 * times; then say so, with a Restart button), and stop it on deactivate. Also owns the one status-bar item.
 */
export class TrainerClient implements vscode.Disposable {
  private child?: cp.ChildProcess;
  private conn?: MessageConnection;
  private starting?: Promise<MessageConnection>;
  private disposed = false;
  private readonly restarts = new RestartPolicy();
  private stopWatch?: () => void;
  private readonly status: vscode.StatusBarItem;
  private readonly events = new vscode.EventEmitter<TrainingEvent>();
  /** Every training event the server sends. */
  readonly onEvent = this.events.event;
  /** The run in progress, from the server's start/done/error events. */
  private trainingRun?: string;
  info?: P.InitializeResult;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
  ) {
    this.status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
    this.status.command = 'keypoints.showLog';
    this.setState({ kind: 'idle' });
    this.status.show();
    context.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('keypoints.runsFolder') || e.affectsConfiguration('keypoints.backend')) void this.settingsChanged().catch((err) => showError(this.log, 'could not apply the settings', err));
      }),
    );
  }

  private state: TrainerState = { kind: 'starting' };
  setState(s: TrainerState): void {
    // Drives the `when` clauses of Stop Training (palette, view title, keybinding).
    void vscode.commands.executeCommand('setContext', 'keypoints.training', s.kind === 'training');
    this.state = s;
    const { text, tooltip } = withBackend(statusText(s), this.info?.backend);
    this.status.text = text;
    this.status.tooltip = tooltip;
  }

  /** The connection, starting the server on first use. */
  connection(): Promise<MessageConnection> {
    if (this.conn) return Promise.resolve(this.conn);
    // The manifest declares limited support for untrusted workspaces: their settings pick the files
    // the trainer reads and the folders it writes, so no process starts until the folder is trusted.
    if (!vscode.workspace.isTrusted) return Promise.reject(new Error('this workspace is not trusted; trust it (Workspaces: Manage Workspace Trust) to train, predict or evaluate'));
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async start(): Promise<MessageConnection> {
    this.setState({ kind: 'starting' });
    const script = vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'server.mjs').fsPath;
    const assets = vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'assets').fsPath;
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? this.context.globalStorageUri.fsPath;
    this.log.info(`starting the trainer server: ${process.execPath} ${script} serve --stdio (cwd ${cwd})`);
    const child = cp.spawn(process.execPath, [script, 'serve', '--stdio'], {
      cwd,
      env: {
        ...process.env,
        ELECTRON_RUN_AS_NODE: '1',
        KEYPOINTS_WASM_DIR: assets,
        KEYPOINTS_RESVG_WASM: `${assets}/index_bg.wasm`,
        KEYPOINTS_FONT_DIR: assets,
        KEYPOINTS_PLOTLY_JS: `${assets}/plotly.min.js`,
        KEYPOINTS_FACE_DETECTOR_DIR: assets,
        // No Dawn in the VSIX: a webgpu request's error then points at the CLI (core's webgpuHelp).
        KEYPOINTS_HOST: 'vscode',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    // stderr catches what the protocol cannot (crashes, stack traces); lines the server also sent
    // as `log` notifications ("[info] …") are left out so the channel shows each message once.
    child.stderr!.on('data', (d: Buffer) => {
      const text = d
        .toString()
        .split('\n')
        .filter((l) => l.trim() && !/^\[(info|warn|error)\] /.test(l))
        .join('\n');
      if (text) this.log.warn(`[server stderr] ${text}`);
    });
    const conn = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    conn.onNotification(P.TrainEvent, (e) => {
      if (e.type === 'start') this.trainingRun = e.runDir;
      if (e.type === 'done' || e.type === 'error') this.trainingRun = undefined;
      this.events.fire(e);
    });
    conn.onNotification(P.Log, (m) => this.log[m.level === 'error' ? 'error' : m.level === 'warn' ? 'warn' : 'info'](m.message));
    conn.listen();
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) => reject(new Error(`the trainer server exited before it started (code ${code}, signal ${signal})`))),
    );
    const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
    try {
      this.info = await Promise.race([conn.sendRequest(P.Initialize, this.initializeParams()), exited, spawnError]);
    } catch (err) {
      conn.dispose();
      child.kill();
      this.child = undefined;
      this.setState({ kind: 'error', message: String((err as Error).message ?? err) });
      throw err;
    }
    this.log.info(`trainer server ${this.info.serverVersion} ready: ${this.info.backend.note}`);
    this.setState(this.state); // the backend in use joins the status bar
    // A server that is alive but no longer answers (it should exit on broken framing; this catches the rest) is killed: the exit below restarts it.
    this.stopWatch = watchLiveness(
      () => conn.sendRequest(P.TrainStatus, {}),
      () => {
        this.log.error('the trainer server stopped answering: restarting it');
        child.kill();
      },
    );
    child.once('exit', (code, signal) => {
      this.stopWatch?.();
      if (this.conn === conn) this.conn = undefined;
      this.child = undefined;
      conn.dispose();
      if (this.disposed) return;
      // A run cut by the crash ends for every listener (progress, curves) like any failed run.
      if (this.trainingRun) {
        this.events.fire({ type: 'error', message: `the trainer server stopped during training of ${this.trainingRun}; its last checkpoint can be resumed`, code: 'server-exit' });
        this.trainingRun = undefined;
      }
      this.setState({ kind: 'stopped' });
      this.log.error(`the trainer server stopped (code ${code}, signal ${signal})`);
      if (this.restarts.allow(Date.now())) {
        this.log.info('restarting the trainer server');
        void this.connection().catch((err) => showError(this.log, 'could not restart the trainer server', err));
        return;
      }
      void vscode.window.showErrorMessage('Keypoints: the trainer server stopped. See the output for details.', 'Restart', 'Show Log').then((pick) => {
        if (pick === 'Restart') void this.connection();
        if (pick === 'Show Log') this.log.show();
      });
    });
    this.conn = conn;
    this.setState({ kind: 'idle' });
    return conn;
  }

  private initializeParams(): P.InitializeParams {
    const settings = readSettings();
    return { clientName: `VS Code ${vscode.version}`, runsFolder: resolvePath(settings.runsFolder), backend: settings.backend };
  }

  /** A changed runs folder or backend setting reaches a running server at once (initialize may be re-sent). */
  async settingsChanged(): Promise<void> {
    if (!this.conn) return;
    this.info = await this.conn.sendRequest(P.Initialize, this.initializeParams());
    this.log.info(`settings applied: runs in ${resolvePath(readSettings().runsFolder)}; ${this.info.backend.note}`);
    this.setState(this.state);
  }

  async restart(): Promise<void> {
    this.stopServer();
    await this.connection();
  }

  private stopServer(): void {
    const child = this.child;
    this.stopWatch?.();
    this.conn?.dispose();
    this.conn = undefined;
    this.child = undefined;
    child?.removeAllListeners('exit');
    child?.kill();
  }

  dispose(): void {
    this.disposed = true;
    this.stopServer();
    this.status.dispose();
    this.events.dispose();
  }
}

/** One error shape everywhere: a short sentence, "See the output for details", a button to the log. */
export function showError(log: vscode.LogOutputChannel, what: string, err: unknown): void {
  const message = errorMessage(err);
  log.error(`${what}: ${message}`);
  void vscode.window.showErrorMessage(`Keypoints: ${what}: ${message.split('\n')[0]} See the output for details.`, 'Show Log').then((pick) => {
    if (pick) log.show();
  });
}
