export type { Tokenizer } from './types.js';
export {
  BERT_UNCASED_SIZE,
  BERT_UNCASED_SOURCE,
  bertUncasedVocab,
  buildSubVocabulary,
  checkBertUncasedIds,
  loadTokenizer,
  loadVocabFile,
  restoreWordPieceStyle,
  saveVocab,
} from './vocab.js';
export { basicTokenize, MAX_WORD_CHARS, SPECIAL_TOKENS, WordPieceTokenizer, type WordPieceOptions } from './wordpiece.js';
