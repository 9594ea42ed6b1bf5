import * as vscode from 'vscode';

/** The extension's settings as one typed object with the manifest's defaults. */
export interface Settings {
  dataPath: string;
  preset: 'default' | 'seed' | 'tiny';
  backend: 'auto' | 'wasm' | 'cpu' | 'tensorflow' | 'tensorflow-gpu' | 'webgpu';
  runsFolder: string;
  timeLimitMinutes: number;
  configFile: string;
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('keypoints');
  return {
    dataPath: c.get<string>('dataPath', ''),
    preset: c.get<Settings['preset']>('preset', 'default'),
    backend: c.get<Settings['backend']>('backend', 'auto'),
    runsFolder: c.get<string>('runsFolder', 'runs'),
    timeLimitMinutes: c.get<number>('timeLimitMinutes', 0),
    configFile: c.get<string>('configFile', ''),
  };
}

/** Relative settings paths are relative to the first workspace folder. */
export function resolvePath(p: string): string {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!p || !root || /^([a-zA-Z]:)?[\\/]/.test(p)) return p;
  return vscode.Uri.joinPath(vscode.Uri.file(root), p).fsPath;
}
