//! The key and value schemas of `__consumer_offsets` records (Kafka's `GroupMetadataManager`
//! serializers). Pure: bytes in, structs out.
