export { readPredictInputs, type PredictInput } from './inputs.js';
export { PredictModelError, resolvePredictModel, type PredictModel } from './model.js';
export { openPredictor, predict, predictionAccuracy, softmax, type Prediction, type PredictOptions, type Predictor } from './predict.js';
