import { defineConfig } from 'vitepress';

// Everything the site needs is bundled at build time (the theme's fonts included): no CDN, no
// web fonts, no analytics, so it builds and reads offline.
export default defineConfig({
  title: 'Keypoints',
  description: 'Train and run convolutional networks that find facial keypoints, from the CLI, CI and VS Code.',
  lang: 'en-GB',
  outDir: './dist',
  // reference/vscode-manifest.md is a generated partial, included by guide/vscode.md.
  srcExclude: ['README.md', 'scripts/**', 'dist/**', 'node_modules/**', 'reference/vscode-manifest.md'],
  cleanUrls: false,
  lastUpdated: false,
  themeConfig: {
    nav: [
      { text: 'Guide', link: '/guide/getting-started' },
      { text: 'Reference', link: '/reference/cli' },
    ],
    sidebar: [
      {
        text: 'Guide',
        items: [
          { text: 'Getting started', link: '/guide/getting-started' },
          { text: 'Kaggle walkthrough', link: '/guide/kaggle' },
          { text: 'VS Code', link: '/guide/vscode' },
          { text: 'How training works', link: '/guide/how-it-works' },
          { text: 'Pretrained start and photos', link: '/guide/pretrained' },
          { text: 'Experiments: sweeps and compare', link: '/guide/experiments' },
          { text: 'Backends and GPU', link: '/guide/backends' },
          { text: 'Performance', link: '/guide/performance' },
          { text: 'Architecture', link: '/guide/architecture' },
          { text: 'Limits and bad input', link: '/guide/limits' },
        ],
      },
      {
        text: 'Reference (generated)',
        items: [
          { text: 'CLI', link: '/reference/cli' },
          { text: 'Config', link: '/reference/config' },
          { text: 'Server protocol', link: '/reference/protocol' },
        ],
      },
    ],
    search: { provider: 'local' },
    outline: { level: [2, 3] },
    footer: { message: 'MIT licensed. Reference pages are generated from the code at build time.' },
  },
});
