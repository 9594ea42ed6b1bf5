import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EvaluateResult } from '@keypoints/core/protocol';
import { evaluationSummary, evaluationTable } from '../src/evaluation.ts';

const result = (over: Partial<EvaluateResult> = {}): EvaluateResult => ({
  model: '/w/runs/r1',
  rmse: 2.3456,
  count: 60,
  rows: 2,
  nme: 0.0512,
  faces: 2,
  missed: 0,
  normalisers: { 'outer-eye-corners': 1, 'eye-centres': 1 },
  perKeypoint: { left_eye_center: { rmse: 1.5, nme: 0.04, count: 4 }, nose_tip: { rmse: NaN, nme: NaN, count: 0 } },
  ced: { thresholds: [0, 0.1], fractions: [0, 1], auc: 0.4876, failureRate: 0 },
  worst: [],
  ...over,
});

test('evaluation summary: notes, RMSE and NME with the normalisers used, the CED figures', () => {
  assert.deepEqual(evaluationSummary(result({ notes: ['val split: 2 of 20 rows'] }), 'faces.csv'), [
    'val split: 2 of 20 rows',
    'faces.csv: 2 faces, 60 labelled coordinates',
    'RMSE 2.346 px · NME 5.12 % over 2 faces (normalised by outer-eye-corners 1, eye-centres 1)',
    'CED: AUC@10% 0.488, failures (NME > 10 %) 0.00 %',
  ]);
  // Photos: faces the detector missed are said, and counted among the failures. NaN arrives as null over JSON-RPC.
  const missed = evaluationSummary(result({ missed: 1, nme: null as unknown as number, ced: { thresholds: [], fractions: [], auc: 0, failureRate: 1 } }), 'photos');
  assert.equal(missed[1], 'RMSE 2.346 px · NME n/a over 2 faces (normalised by outer-eye-corners 1, eye-centres 1)');
  assert.equal(missed[2], 'CED: AUC@10% 0.000, failures (NME > 10 % or not found) 100.00 %; 1 faces not found');
});

test('evaluation table: one row per keypoint, n/a where nothing was labelled', () => {
  assert.deepEqual(evaluationTable(result()), {
    head: ['keypoint', 'RMSE px', 'NME', 'coords'],
    rows: [
      ['left_eye_center', '1.500', '4.00 %', '4'],
      ['nose_tip', 'n/a', 'n/a', '0'],
    ],
  });
});
