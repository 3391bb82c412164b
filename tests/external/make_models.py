#!/usr/bin/python3
"""tests/external/make_models.py DATA_DIR OUT_DIR — models made outside LocalDx, with Debian's
python3-xgboost and python3-onnx, for the CLI import test:

  wdbc.xgb.json, pbc.xgb.json,    XGBoost's own JSON models (Booster.save_model); dprog is a
  dprog.xgb.json                   regressor (reg:squarederror) on the diabetes data
  dprog.csv                        that data with a tenth of the cells blanked (missing values)
  wdbc.onnx, pbc.onnx, dprog.onnx  the same models converted to ONNX by hand: ai.onnx.ml
                                   TreeEnsembleClassifier as converters write it (binary: one
                                   weight column, LOGISTIC; multi-class: SOFTMAX), or
                                   TreeEnsembleRegressor (SUM, NONE) for dprog; ml opset 3
  *.reference.json                 XGBoost's probabilities and pred_contribs on every row
  wdbc-mlp.onnx                    an sklearn MLP (StandardScaler + MLPClassifier) exported to
                                   ONNX by hand: Sub, Div, Gemm, Relu, Gemm, Sigmoid, Concat
  wdbc-mlp.reference.json          sklearn's predict_proba on every row
  wdbc-mlp.reference.csv           the rows with sklearn's probabilities as p_benign, p_malignant
  wdbc-mlp-custom.onnx             the same with an operator from a custom domain (must be refused)
"""
import csv, json, math, sys
import numpy as np
import xgboost as xgb
import os
import onnx
from onnx import helper, TensorProto
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
# The hand-written exporter of the demo MLP (one implementation).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../models/wdbc-mlp'))
from make_mlp import mlp_onnx

data_dir, out = sys.argv[1], sys.argv[2]

def load(path, label, classes, drop=()):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    cols = [c for c in rows[0] if c != label and c not in drop]
    def num(v):
        return float('nan') if v in ('', 'NA') else float(v)
    return rows, cols, num

def wdbc():
    rows, cols, num = load(f'{data_dir}/wdbc.csv', 'diagnosis', None)
    X = np.array([[num(r[c]) for c in cols] for r in rows], dtype=np.float32)
    y = np.array([1 if r['diagnosis'] == 'malignant' else 0 for r in rows])
    return X, y, {'objective': 'binary:logistic', 'max_depth': 3, 'eta': 0.1, 'nthread': 1, 'seed': 3}, 60

def pbc():
    # Feature order of models/pbc-stage: age, sex=f, sex=m, ascites, hepato, spiders, edema (ordinal), labs.
    rows, cols, num = load(f'{data_dir}/pbc-stage.csv', 'stage', None)
    edema = {'0': 0.0, '0.5': 1.0, '1': 2.0}
    feats = []
    for r in rows:
        v = [num(r['age']), 1.0 if r['sex'] == 'f' else 0.0, 1.0 if r['sex'] == 'm' else 0.0,
             num(r['ascites']), num(r['hepato']), num(r['spiders']), edema[r['edema']]]
        v += [num(r[c]) for c in ['bili', 'chol', 'albumin', 'copper', 'alk_phos', 'ast', 'trig', 'platelet', 'protime']]
        feats.append(v)
    X = np.array(feats, dtype=np.float32)
    y = np.array([int(r['stage']) - 1 for r in rows])
    return X, y, {'objective': 'multi:softprob', 'num_class': 4, 'max_depth': 3, 'eta': 0.1, 'nthread': 1, 'seed': 3}, 40

def dprog():
    # The diabetes regression with a fixed tenth of the cells blanked, written out for localdx too.
    # Feature order of models/diabetes-progression: age, sex=1, sex=2, bmi, map, tc, ldl, hdl, tc_hdl,
    # triglycerides, glucose.
    rows, cols, num = load(f'{data_dir}/diabetes-progression.csv', 'progression', None)
    rng = np.random.default_rng(5)
    for r in rows:
        for c in cols:
            if rng.random() < 0.1:
                r[c] = ''
    with open(f'{out}/dprog.csv', 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    feats = []
    for r in rows:
        sex = [float('nan')] * 2 if r['sex'] == '' else [1.0 if r['sex'] == '1' else 0.0, 1.0 if r['sex'] == '2' else 0.0]
        feats.append([num(r['age'])] + sex + [num(r[c]) for c in cols if c not in ('age', 'sex')])
    X = np.array(feats, dtype=np.float32)
    y = np.array([float(r['progression']) for r in rows])
    return X, y, {'objective': 'reg:squarederror', 'max_depth': 4, 'eta': 0.05, 'nthread': 1, 'seed': 3}, 150

def to_onnx(model_json, n_features, k, path):
    m = json.loads(model_json)
    learner = m['learner']
    base = float(learner['learner_model_param']['base_score'])
    trees = learner['gradient_booster']['model']['trees']
    info = learner['gradient_booster']['model']['tree_info']
    a = {k_: [] for k_ in ['nodes_treeids', 'nodes_nodeids', 'nodes_featureids', 'nodes_values', 'nodes_modes',
                           'nodes_truenodeids', 'nodes_falsenodeids', 'nodes_missing_value_tracks_true',
                           'class_treeids', 'class_nodeids', 'class_ids', 'class_weights']}
    for t, tree in enumerate(trees):
        L, R = tree['left_children'], tree['right_children']
        for i in range(len(L)):
            a['nodes_treeids'].append(t); a['nodes_nodeids'].append(i)
            if L[i] == -1:
                a['nodes_modes'].append('LEAF'); a['nodes_featureids'].append(0); a['nodes_values'].append(0.0)
                a['nodes_truenodeids'].append(0); a['nodes_falsenodeids'].append(0); a['nodes_missing_value_tracks_true'].append(0)
                a['class_treeids'].append(t); a['class_nodeids'].append(i)
                a['class_ids'].append(0 if k == 2 else info[t]); a['class_weights'].append(tree['split_conditions'][i])
            else:
                a['nodes_modes'].append('BRANCH_LT'); a['nodes_featureids'].append(tree['split_indices'][i])
                a['nodes_values'].append(tree['split_conditions'][i]); a['nodes_truenodeids'].append(L[i])
                a['nodes_falsenodeids'].append(R[i]); a['nodes_missing_value_tracks_true'].append(int(tree['default_left'][i]))
    if k == 1:  # a regressor: the same arrays under target_*, summed, no transform
        b = {key.replace('class_', 'target_'): v for key, v in a.items()}
        node = helper.make_node('TreeEnsembleRegressor', ['input'], ['variable'], domain='ai.onnx.ml', n_targets=1,
                                base_values=[base], aggregate_function='SUM', post_transform='NONE', **b)
        outputs = [helper.make_tensor_value_info('variable', TensorProto.FLOAT, [None, 1])]
        graph = helper.make_graph([node], 'external', [helper.make_tensor_value_info('input', TensorProto.FLOAT, [None, n_features])], outputs)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 15), helper.make_opsetid('ai.onnx.ml', 3)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, path)
        return
    if k == 2:
        base_values, post = [math.log(base / (1 - base))], 'LOGISTIC'
    else:
        base_values, post = [base] * k, 'SOFTMAX'
    node = helper.make_node('TreeEnsembleClassifier', ['input'], ['label', 'probabilities'], domain='ai.onnx.ml',
                            classlabels_int64s=list(range(k)), base_values=base_values, post_transform=post, **a)
    graph = helper.make_graph([node], 'external', [helper.make_tensor_value_info('input', TensorProto.FLOAT, [None, n_features])],
                              [helper.make_tensor_value_info('label', TensorProto.INT64, [None]),
                               helper.make_tensor_value_info('probabilities', TensorProto.FLOAT, [None, k])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 15), helper.make_opsetid('ai.onnx.ml', 3)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)

for name, make in [('wdbc', wdbc), ('pbc', pbc), ('dprog', dprog)]:
    X, y, params, rounds = make()
    booster = xgb.train(params, xgb.DMatrix(X, label=y, missing=np.nan), rounds)
    booster.save_model(f'{out}/{name}.xgb.json')
    d = xgb.DMatrix(X, missing=np.nan)
    probs = booster.predict(d)
    contribs = booster.predict(d, pred_contribs=True)
    k = 1 if params['objective'].startswith('reg:') else 2 if probs.ndim == 1 else probs.shape[1]
    with open(f'{out}/{name}.reference.json', 'w') as f:
        json.dump({'probabilities': probs.tolist(), 'contributions': contribs.tolist()}, f)
    with open(f'{out}/{name}.xgb.json') as f:
        to_onnx(f.read(), X.shape[1], k, f'{out}/{name}.onnx')
    print(f'{name}: {X.shape[0]} rows, {X.shape[1]} features, {k if k > 1 else "no"} classes, {rounds} rounds')

# An sklearn MLP on wdbc (no missing values: every field is required).
X, y, _, _ = wdbc()
scaler = StandardScaler().fit(X)
mlp = MLPClassifier(hidden_layer_sizes=(16,), max_iter=3000, random_state=0, alpha=1e-3).fit(scaler.transform(X), y)
proba = mlp.predict_proba(scaler.transform(X))
onnx.save(mlp_onnx(scaler, mlp, X.shape[1]), f'{out}/wdbc-mlp.onnx')
onnx.save(mlp_onnx(scaler, mlp, X.shape[1], custom_op=True), f'{out}/wdbc-mlp-custom.onnx')
with open(f'{out}/wdbc-mlp.reference.json', 'w') as f:
    json.dump({'probabilities': proba[:, 1].tolist()}, f)
with open(f'{data_dir}/wdbc.csv') as f, open(f'{out}/wdbc-mlp.reference.csv', 'w', newline='') as g:
    rows = list(csv.reader(f))
    w = csv.writer(g)
    w.writerow(rows[0] + ['p_benign', 'p_malignant'])
    for r, p in zip(rows[1:], proba):
        w.writerow(r + [repr(float(p[0])), repr(float(p[1]))])
print(f'wdbc-mlp: {X.shape[0]} rows, training accuracy {mlp.score(scaler.transform(X), y):.3f}')
