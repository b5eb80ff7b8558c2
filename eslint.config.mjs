import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'dist-test/', 'build/', 'build-*/', '.device/', 'node_modules/', 'bench/results/'] },
  ...tseslint.configs.strict,
  {
    // tests index arrays they just built; a wrong index fails the test anyway
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
