// Dependency build scripts compile native addons (headless-gl, for gpu.js's headlessgl mode)
// with node-gyp, which by default downloads Node's headers: that fails on a machine without
// internet, and the backend is then silently missing. Node installs (Debian/NodeSource
// packages, the official tarballs, nvm) ship the exact headers next to the binary, so point
// node-gyp there. pnpm 12 reads only auth and registry keys from .npmrc and passes an
// `npm_config_*` variable to build scripts only when it is in the environment: hence this hook.
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');

/** The prefix of the running Node (`/usr` for /usr/bin/node) when its headers are there. */
function localNodeDir() {
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'common.gypi')) ? prefix : undefined;
}

/** Whether the environment already names a nodedir (npm reads config variables in any case). */
const nodedirInEnv = () =>
  Object.keys(process.env).some((k) => k.toLowerCase() === 'npm_config_nodedir');

module.exports = {
  hooks: {
    updateConfig(config) {
      // extraEnv overrides the environment: a nodedir the user set keeps winning
      if (nodedirInEnv()) return config;
      const nodedir = localNodeDir();
      if (nodedir === undefined) return config;
      return { ...config, extraEnv: { ...config.extraEnv, npm_config_nodedir: nodedir } };
    },
  },
};
