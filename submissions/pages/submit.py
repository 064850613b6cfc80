import streamlit as st

st.title("Submit")
st.info("This page is being built.")
