// Exports nothing: msgpackr sees no native extractor and uses its JavaScript one.
module.exports = undefined;
