/** `keypoints completion bash|zsh`: a shell completion script for the commands and their options, generated from the program itself. */
import { Argument, Command } from 'commander';

function words(program: Command): { commands: string[]; options: Record<string, string[]> } {
  const commands = program.commands.map((c) => c.name());
  const options: Record<string, string[]> = {};
  for (const c of program.commands) options[c.name()] = c.options.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f)).concat('--help');
  return { commands, options };
}

export function bashCompletion(program: Command): string {
  const { commands, options } = words(program);
  const cases = Object.entries(options).map(([c, o]) => `    ${c}) opts="${o.join(' ')}" ;;`).join('\n');
  return `# keypoints completion for bash: eval "$(keypoints completion bash)" (e.g. in ~/.bashrc)
_keypoints() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} opts
  if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=($(compgen -W "${commands.join(' ')} --help --version" -- "$cur")); return; fi
  case "$cmd" in
${cases}
    *) opts="" ;;
  esac
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -o filenames -F _keypoints keypoints
`;
}

export function zshCompletion(program: Command): string {
  const { commands, options } = words(program);
  const cases = Object.entries(options).map(([c, o]) => `    ${c}) opts=(${o.join(' ')}) ;;`).join('\n');
  return `#compdef keypoints
# keypoints completion for zsh: eval "$(keypoints completion zsh)" (e.g. in ~/.zshrc, after compinit)
_keypoints() {
  local -a opts
  if (( CURRENT == 2 )); then compadd -- ${commands.join(' ')} --help --version; return; fi
  case \${words[2]} in
${cases}
    *) opts=() ;;
  esac
  if [[ \${words[CURRENT]} == -* ]]; then compadd -- $opts; else _files; fi
}
compdef _keypoints keypoints
`;
}

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('Print a shell completion script (commands and their options) for bash or zsh.')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => {
      process.stdout.write(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
    });
}
